"""The driver fast path (`booking.statements`) agrees with SQLAlchemy's own, statement by statement.

A booking workload runs with `statements.run` wrapped: each statement it sends is run first on
SQLAlchemy's plain path (`Connection.execute`) inside a savepoint, then, after rolling that
back, on the fast path, and the two must return the same values (of the same types) and leave
every column of every table the same. The registry of statements the fast path runs is every
module-level statement of the modules that hand statements to `database.execute`, and the
multi-row INSERTs of `inserts.insert_rows`: one that the workload does not compare fails the
test, so a new statement needs a step here.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import TextClause, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import CompoundSelect, Executable
from support import ANSWERS, MONDAY, NOW, details, local

import booking
from booking import database, statements
from booking.extensions import db
from booking.models import Base, Course, Patient, Role, Service, Source
from booking.services import accounts, availability, records, staff_sessions
from booking.services import booking as bookings
from booking.services import catalog as catalogs
from booking.services.booking import BookingRequest
from booking.services.courses.book import Pick, book_course
from booking.services.courses.next_visit import coming_visit, suggest
from booking.services.courses.plan import Plan
from booking.services.errors import BookingError

TUESDAY = MONDAY + timedelta(days=1)
# Statements that only PostgreSQL is sent (SQLite needs no advisory locks).
ONLY_ON = {"booking.database._ADVISORY_LOCKS": "postgresql"}
# The tables `inserts.insert_rows` writes (the audit trail, the outbox): one INSERT each.
INSERT_ROWS_TABLES = {"audit_event", "outbox_message", "patient_change"}


def registry(dialect: str) -> dict[str, Executable]:
    """Every statement of the modules that run statements on the fast path, by name."""
    found: dict[str, Executable] = {}
    for info in pkgutil.walk_packages(booking.__path__, "booking."):
        module = importlib.import_module(info.name)
        if module is not database and getattr(module, "execute", None) is not database.execute:
            continue
        for name, value in vars(module).items():
            if isinstance(value, dict):  # one statement per dialect
                value = value.get(dialect) if dialect in value else None
            key = f"{info.name}.{name}"
            if isinstance(value, Executable) and ONLY_ON.get(key, dialect) == dialect:
                found[key] = value
    # The parts of a UNION are sent only as the UNION.
    parts = {id(s) for v in found.values() if isinstance(v, CompoundSelect) for s in v.selects}
    return {key: value for key, value in found.items() if id(value) not in parts}


class Comparer:
    """Wraps `statements.run`: every call runs on both paths, and the answers are compared."""

    def __init__(self, run) -> None:
        self.run = run
        self.compared: list[Executable] = []
        self.differences: list[str] = []

    def __call__(self, connection: Connection, statement: Executable, params=None, **kw) -> Any:
        sequences = _sequences(connection)
        savepoint = connection.begin_nested()
        plain_rows, plain_error = self._attempt(connection, statement, params, plain=True)
        plain_tables = _tables(connection)
        savepoint.rollback()
        _restore(connection, sequences)
        drove = []
        real = statements._cursor_execute
        statements._cursor_execute = lambda *a: (drove.append(1), real(*a))[1]
        try:
            fast_rows, fast_error = self._attempt(connection, statement, params, plain=False)
        finally:
            statements._cursor_execute = real
        label = _label(statement)
        if not drove:
            self.differences.append(f"{label}: the fast path left it to SQLAlchemy")
        if plain_error or fast_error:
            if _kind(plain_error) != _kind(fast_error):
                self.differences.append(f"{label}: {_kind(plain_error)} != {_kind(fast_error)}")
        else:
            if _typed(plain_rows) != _typed(fast_rows):
                self.differences.append(f"{label}: returned {plain_rows} != {fast_rows}")
            fast_tables = _tables(connection)
            for table, rows in plain_tables.items():
                if _typed(rows) != _typed(fast_tables[table]):
                    self.differences.append(f"{label}: table {table} differs")
        self.compared.append(statement)
        if fast_error is not None:
            raise fast_error
        return statements.Rows(fast_rows)

    def _attempt(self, connection, statement, params, *, plain: bool):
        try:
            return self.run(connection, statement, params, plain=plain).rows, None
        except DBAPIError as exc:
            return None, exc


def _label(statement: Executable) -> str:
    return str(statement).split("\n")[0][:80]


def _kind(exc: BaseException | None) -> object:
    """An error's class and, when the database names one, the constraint it violated."""
    if exc is None:
        return None
    diag = getattr(getattr(exc, "orig", None), "diag", None)
    return type(exc), getattr(diag, "constraint_name", None) or str(exc.orig).split("\n")[0]


def _typed(rows) -> list[tuple[tuple[type, Any], ...]] | None:
    """Rows with each value's type: an aware datetime is not a naive one that compares equal."""
    if rows is None:
        return None
    return [
        tuple((type(v), v, getattr(v, "tzinfo", None) is not None) for v in row) for row in rows
    ]


def _tables(connection: Connection) -> dict[str, list[tuple[Any, ...]]]:
    """Every row, every column, of every table of the schema."""
    return {
        table.name: [
            tuple(row)
            for row in connection.execute(table.select().order_by(*table.primary_key.columns))
        ]
        for table in Base.metadata.sorted_tables
    }


def _sequences(connection: Connection) -> list[tuple[str, int, bool]]:
    """PostgreSQL's sequences, which a rolled-back savepoint does not put back."""
    if connection.dialect.name != "postgresql":
        return []
    names = connection.execute(
        text("SELECT sequencename FROM pg_sequences WHERE schemaname = 'public'")
    ).scalars()
    return [
        (name, *connection.execute(text(f'SELECT last_value, is_called FROM "{name}"')).one())
        for name in list(names)
    ]


def _restore(connection: Connection, sequences: list[tuple[str, int, bool]]) -> None:
    for name, value, called in sequences:
        params = {"name": name, "value": value, "called": called}
        connection.execute(text("SELECT setval(:name, :value, :called)"), params)


@pytest.fixture
def comparer(monkeypatch) -> Iterator[Comparer]:
    comparing = Comparer(statements.run)
    monkeypatch.setattr(statements, "run", comparing)
    yield comparing


def request(service: str, hour: int, n: int, day=TUESDAY, **extra) -> BookingRequest:
    given = {key: extra.pop(key) for key in ("name", "phone", "booker") if key in extra}
    return BookingRequest(
        service=service, start=local(day, hour), patient=details(n, **given), **extra
    )


def workload(world) -> None:
    """What the fast path serves: bookings (new and known patients, screening, keys, a replay,
    a refusal), moves, cancellations, free times and the catalog."""
    maya = world.make_therapist("Maya Chen")
    world.time_off(maya, local(TUESDAY, 13), local(TUESDAY, 14))
    # A re-assessment service: the follow-up below runs the re-assessment rule's statements.
    world.add(Service(slug="reassessment", name="IMS re-assessment", duration_minutes=45,
                      requires_ims=True, prerequisite_id=world.services["assessment"].id,
                      reassessment=True))  # fmt: skip
    first = request("assessment", 9, 1, screening=dict(ANSWERS))
    assessment = bookings.book(first, now=NOW, idempotency_key="key-1")
    assert bookings.book(first, now=NOW, idempotency_key="key-1").replayed
    person = assessment.appointment.patient_id
    household = db.session.get_one(Patient, person).contact_id
    # Two days after the assessment: the needling spacing holds.
    follow_up = bookings.book(
        request("follow-up", 11, 1, day=TUESDAY + timedelta(days=2), person_id=person,
                contact_id=household),
        now=NOW,
    )  # fmt: skip
    # A session of a course of care (the course must be the person's, and active).
    course = Course(patient_id=person, therapist_id=maya, service_id=world.services["follow-up"].id,
                    created_by="test")  # fmt: skip
    world.add(course)
    bookings.book(
        request("follow-up", 11, 1, day=TUESDAY + timedelta(days=4), person_id=person,
                contact_id=household, course_id=course.id),
        now=NOW,
    )  # fmt: skip
    with pytest.raises(BookingError):  # no assessment on record for this patient
        bookings.book(request("follow-up", 11, 2, source=Source.STAFF), now=NOW)
    # The same person again with a new phone (a proposed change); their child, whose
    # messages greet the parent (the contact learns who reads them).
    bookings.book(
        request("physio", 14, 1, day=TUESDAY + timedelta(days=3), phone="778-555-0123"), now=NOW
    )
    bookings.book(
        request("physio", 15, 1, day=TUESDAY + timedelta(days=3), name="Kid Ient", booker="Pat"),
        now=NOW,
    )
    with pytest.raises(BookingError):  # taken
        bookings.book(request("physio", 9, 3, therapist_id=maya), now=NOW)
    physio = bookings.book(request("physio", 15, 3, therapist_id=maya), now=NOW)
    bookings.reschedule(follow_up.appointment.id, local(TUESDAY + timedelta(days=2), 10), now=NOW)
    bookings.cancel(physio.appointment.id, now=NOW)
    with pytest.raises(BookingError):  # follow-ups are booked after it
        bookings.cancel(assessment.appointment.id, now=NOW)
    catalog = catalogs.current()
    slots = availability.find_slots(
        catalog, catalog.service("physio"), TUESDAY, TUESDAY + timedelta(days=2), now=NOW
    )
    assert slots
    # Another session of the course, and the next visit after it (one-tap rebooking's reads).
    bookings.book(
        request("follow-up", 11, 1, day=TUESDAY + timedelta(days=7), person_id=person,
                contact_id=household, course_id=course.id, therapist_id=maya),
        now=NOW,
    )  # fmt: skip
    assert suggest(catalogs.current(), person, now=NOW).course_id == course.id
    assert coming_visit(person, NOW) is not None
    # A course booked whole: its row, then its session through the booking's own writes.
    later = TUESDAY + timedelta(days=14)
    book_course(Plan(person, "follow-up", maya, later, sessions=1),
                [Pick(1, local(later, 11), maya)], now=NOW, actor="staff:1")  # fmt: skip
    # A staff request: its signed-in session, read on every page; a visit's course pages.
    assert records.visit_summary(assessment.appointment.id).patient_id == person
    desk = accounts.create_user(email="desk@example.com", name="Desk", password="a long password 1",
                                role=Role.RECEPTION, actor="test", now=NOW)  # fmt: skip
    token = staff_sessions.begin(desk.id, now=NOW, max_age=timedelta(hours=12))
    signed_in = staff_sessions.load(token, str(desk.id), now=NOW, max_age=timedelta(hours=12))
    assert signed_in is not None and (signed_in.id, signed_in.role) == (desk.id, "reception")


def test_every_statement_agrees_on_both_paths(ctx, world, comparer):
    workload(world)

    assert not comparer.differences, "\n".join(comparer.differences)
    dialect = db.engine.dialect.name
    seen = {id(s) for s in comparer.compared}
    missed = [name for name, s in registry(dialect).items() if id(s) not in seen]
    assert not missed, f"statements the workload never compared: {missed}"
    inserted = {
        s.text.split('"')[1]
        for s in comparer.compared
        if isinstance(s, TextClause) and s.text.startswith("INSERT INTO")
    }
    assert inserted == INSERT_ROWS_TABLES


def test_a_difference_is_seen(ctx, world, comparer, monkeypatch):
    # The comparison can fail: a fast path that stored another value is caught.
    real = statements._Plan.values

    def skewed(plan, params):
        values = real(plan, params)
        if isinstance(values, dict) and "name" in values:
            values["name"] = values["name"] + "!"
        elif "INSERT INTO patient " in plan.sql:
            values = list(values)
            first_text = next(k for k, v in enumerate(values) if isinstance(v, str))
            values[first_text] = values[first_text] + "!"
        return values

    world.make_therapist("Maya Chen")
    monkeypatch.setattr(statements._Plan, "values", skewed)
    bookings.book(request("physio", 9, 1), now=NOW)
    assert any("table patient differs" in d for d in comparer.differences), comparer.differences
