"""Migrations that move data: 0007 keeps accounts, 0010 re-times reminders, 0011 makes people,
0012 adds courses keeping every visit, message and trigger."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, inspect, select, text
from sqlalchemy.engine import make_url
from support import NOW, Clock

from booking import create_app
from booking.extensions import db
from booking.models import Clinic, OutboxMessage

IN_CI = os.environ.get("CI", "").lower() == "true"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)])
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database of its own, with no tables: the run's shared one stays at the head."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.sqlite3'}"
        return
    admin = os.environ.get("TEST_POSTGRES_URL")
    if not admin:
        if IN_CI:
            pytest.fail("TEST_POSTGRES_URL must name a PostgreSQL server under CI=true")
        pytest.skip("TEST_POSTGRES_URL is not set")
    admin_url = make_url(admin).set(drivername="postgresql+psycopg")
    name = f"booking_migrations_{uuid.uuid4().hex[:12]}"
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin_url.set(database=name).render_as_string(hide_password=False)
    finally:
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()


@pytest.fixture
def migrating(empty_database: str) -> Iterator[None]:
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": empty_database, "CLOCK": Clock()})
    with app.app_context():
        yield
        db.session.remove()
        db.engine.dispose()


def _columns(table: str) -> set[str]:
    with db.engine.connect() as conn:
        return {column["name"] for column in inspect(conn).get_columns(table)}


def _tables() -> set[str]:
    with db.engine.connect() as conn:
        return set(inspect(conn).get_table_names())


def _run(statement: str, **params: object) -> list[tuple]:
    with db.engine.begin() as conn:
        result = conn.execute(text(statement), params)
        return [tuple(row) for row in result] if result.returns_rows else []


ACCOUNT = (
    "INSERT INTO staff_user (email, name, password_hash, role, active, {extra}created_at)"
    " VALUES (:email, 'Rita Desk', 'x', 'reception', true, {value}:now)"
)
SESSION = (
    "INSERT INTO staff_session (token_hash, staff_user_id, created_at)"
    " SELECT :hash, id, :now FROM staff_user WHERE email = :email"
)
WHEN = NOW.isoformat()


def test_staff_sessions_upgrade_and_downgrade_keeping_the_accounts(migrating):
    upgrade(revision="0006")
    _run(ACCOUNT.format(extra="session_version, ", value="3, "), email="desk@x.ca", now=WHEN)
    upgrade(revision="0007")
    assert "session_version" not in _columns("staff_user")
    _run(ACCOUNT.format(extra="", value=""), email="gone@x.ca", now=WHEN)
    for n, email in enumerate(("desk@x.ca", "gone@x.ca")):
        _run(SESSION, hash=str(n) * 64, email=email, now=WHEN)
    _run("DELETE FROM staff_user WHERE email = 'gone@x.ca'")  # its sessions go with it
    assert _run("SELECT token_hash FROM staff_session") == [("0" * 64,)]

    downgrade(revision="0006")
    assert "staff_session" not in _tables()
    assert _run("SELECT email, session_version FROM staff_user") == [("desk@x.ca", 0)]
    upgrade()
    assert "staff_session" in _tables() and "session_version" not in _columns("staff_user")


OLD_PATIENT = (
    "INSERT INTO patient (id, name, email, phone, created_at) VALUES (:id, :name, :email, '', :now)"
)
OLD_VISIT = (
    "INSERT INTO appointment (id, reference, therapist_id, service_id, patient_id, start_at,"
    " end_at, occupied_until, status, source, calendar_uid, sequence, manage_token_hash, notes,"
    " cancel_reason, created_at, updated_at) VALUES (:id, :ref, 1, 1, :patient, :start, :end,"
    " :end, 'booked', 'online', :uid, 0, :hash, '', '', :now, :now)"
)


def _at(instant: datetime) -> object:
    """An instant as the head's `UTCDateTime` stores it, for plain SQL on an older schema."""
    if db.engine.dialect.name == "sqlite":
        return instant.astimezone(UTC).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")
    return instant


OLD_OUTBOX = (
    "INSERT INTO outbox_message (appointment_id, event, method, recipient, to_name, to_address,"
    " therapist_id, service_id, start_at, end_at, sequence, message_id, status, attempts,"
    " due_at, detail, created_at) VALUES (:visit, :event, :method, 'patient', 'Pat Ient',"
    " 'pat@example.com', 1, 1, :start, :end, 0, :mid, 'pending', 0, :due, '', :now)"
)


def _clinic_with_two_reminders(lead: int) -> tuple[datetime, datetime]:
    """At 0009: a clinic and two unsent reminders, soon and later (plain SQL: the schema is
    0009's, not the head's)."""
    # The migration reads the app's clock, frozen at NOW by `migrating`: not the real one.
    soon = NOW + timedelta(hours=36)
    later = soon + timedelta(days=10)
    _run(
        "INSERT INTO clinic (id, name, address, phone, email, timezone, slot_step_minutes,"
        " min_notice_minutes, booking_horizon_days, cancel_cutoff_minutes,"
        " reminder_lead_minutes) VALUES (1, 'Old Clinic', '', '', '', 'America/Vancouver',"
        " 15, 720, 90, 1440, :lead)",
        lead=lead,
    )
    _seed_catalog()
    _run(OLD_PATIENT, id=1, name="Pat Ient", email="pat@example.com", now=_at(NOW))
    for n, start in enumerate((soon, later), start=1):
        _old_visit(n, patient=1, start=start)
        _run(OLD_OUTBOX, visit=n, event="reminder", method="", start=_at(start),
             end=_at(start + timedelta(minutes=30)), mid=f"<m{n}@x>",
             due=_at(start - timedelta(minutes=lead)), now=_at(NOW))  # fmt: skip
    return soon, later


def _seed_catalog() -> None:
    _run("INSERT INTO service (id, slug, name, duration_minutes, buffer_minutes, requires_ims,"
         " active, description, preparation) VALUES (1, 'physio', 'Physio', 30, 0, false, true,"
         " '', '')")  # fmt: skip
    _run("INSERT INTO therapist (id, name, bio, email, active, ims_certified)"
         " VALUES (1, 'Maya Chen', '', '', true, false)")  # fmt: skip


def _old_visit(vid: int, *, patient: int, start: datetime) -> None:
    _run(OLD_VISIT, id=vid, ref=f"REF{vid}", patient=patient, start=_at(start),
         end=_at(start + timedelta(minutes=30)), uid=f"u{vid}@x", hash=str(vid) * 64,
         now=_at(NOW))  # fmt: skip


def _reminders_due() -> list[datetime]:
    db.session.expire_all()
    rows = db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
    return [row.due_at for row in rows]


def test_a_reminder_at_the_cutoff_moves_a_day_earlier_and_triggers_come_back(migrating):
    upgrade(revision="0009")
    soon, later = _clinic_with_two_reminders(lead=1440)
    upgrade()
    clinic = db.session.get(Clinic, 1)
    assert clinic.reminder_lead_minutes == 2880
    # Re-timed where the new time is still ahead; the other one keeps its time.
    assert _reminders_due() == [soon - timedelta(days=1), later - timedelta(days=2)]
    if db.engine.dialect.name == "sqlite":  # 0009's batch rebuild had dropped them
        names = {row[0] for row in _run("SELECT name FROM sqlite_master WHERE type='trigger'")}
        assert {
            f"clinic_bumps_catalog_version_{e}" for e in ("insert", "update", "delete")
        } <= names
    version = _run("SELECT version FROM catalog_version")[0][0]
    clinic.phone = "604-555-0100"
    db.session.commit()
    assert _run("SELECT version FROM catalog_version")[0][0] > version


def test_a_reminder_lead_chosen_on_purpose_is_kept(migrating):
    upgrade(revision="0009")
    soon, later = _clinic_with_two_reminders(lead=600)
    upgrade()
    assert db.session.get(Clinic, 1).reminder_lead_minutes == 600
    assert _reminders_due() == [soon - timedelta(minutes=600), later - timedelta(minutes=600)]


SCREENING = "INSERT INTO screening (appointment_id, recorded_by) VALUES (:visit, 'reception')"
AUDIT = (
    "INSERT INTO audit_event (at, actor, action, entity, entity_id)"
    " VALUES (:now, 'patient', 'created', 'patient', :pid)"
)
KEPT = ("appointment", "audit_event", "screening", "outbox_message")


def test_every_patient_becomes_a_person_of_a_contact_keeping_their_visits(migrating):
    upgrade(revision="0010")
    _seed_catalog()
    people = [(1, "Ann Gill", "Ann.Gill@gmail.com"), (2, "Ann Gill", "anngill@gmail.com"),
              (3, "Kim Lee", "kim@example.ca")]  # fmt: skip
    for pid, name, email in people:
        _run(OLD_PATIENT, id=pid, name=name, email=email, now=_at(NOW))
        start = NOW + timedelta(days=pid)
        _old_visit(pid, patient=pid, start=start)
        _run(SCREENING, visit=pid)  # answered later by phone: pending
        _run(OLD_OUTBOX, visit=pid, event="booked", method="REQUEST", start=_at(start),
             end=_at(start + timedelta(minutes=30)), mid=f"<c{pid}@x>", due=_at(NOW),
             now=_at(NOW))  # fmt: skip
        _run(AUDIT, now=_at(NOW), pid=pid)
    before = {t: _run(f"SELECT * FROM {t} ORDER BY 1") for t in KEPT if t != "outbox_message"}
    outbox = _run("SELECT id, appointment_id, message_id FROM outbox_message ORDER BY id")

    upgrade(revision="0011")

    assert "email" not in _columns("patient")
    # Not a row lost or changed: visits, screenings, the audit trail and the outbox.
    assert {t: _run(f"SELECT * FROM {t} ORDER BY 1") for t in before} == before
    assert _run("SELECT id, appointment_id, message_id FROM outbox_message ORDER BY id") == outbox
    assert _run("SELECT access_link_id FROM outbox_message") == [(None,)] * 3
    visits = _run(
        "SELECT a.id, a.patient_id, c.email FROM appointment a JOIN patient p"
        " ON p.id = a.patient_id JOIN contact c ON c.id = p.contact_id ORDER BY a.id"
    )
    # Gmail's dots fold the first two addresses into one contact; every visit keeps its person.
    assert visits == [(1, 1, "Ann.Gill@gmail.com"), (2, 2, "Ann.Gill@gmail.com"),
                      (3, 3, "kim@example.ca")]  # fmt: skip
    assert _run("SELECT id, name_key, date_of_birth FROM patient ORDER BY id") == [
        (1, "ann gill", None), (2, "ann gill", None), (3, "kim lee", None)]  # fmt: skip
    # A new contact after the migration gets an id of its own (PostgreSQL's sequence moved on).
    _run("INSERT INTO contact (email, email_key, name, created_at)"
         " VALUES ('new@x.ca', 'new@x.ca', '', :now)", now=_at(NOW))  # fmt: skip
    assert _run("SELECT MAX(id) FROM contact")[0][0] == 4


def test_households_downgrade_while_every_contact_holds_one_person(migrating):
    upgrade(revision="0010")
    _run(OLD_PATIENT, id=1, name="Kim Lee", email="kim@example.ca", now=_at(NOW))
    upgrade()
    downgrade(revision="0010")
    assert _run("SELECT id, name, email FROM patient") == [(1, "Kim Lee", "kim@example.ca")]
    assert "contact" not in _tables()
    upgrade()
    assert _run("SELECT c.email FROM patient p JOIN contact c ON c.id = p.contact_id") == [
        ("kim@example.ca",)]  # fmt: skip


def test_courses_upgrade_keeps_visits_messages_and_triggers_and_downgrades(migrating):
    upgrade(revision="0011")
    _seed_catalog()
    _run("INSERT INTO contact (id, email, email_key, name, created_at)"
         " VALUES (1, 'kim@example.ca', 'kim@example.ca', '', :now)", now=_at(NOW))  # fmt: skip
    _run("INSERT INTO patient (id, contact_id, name, name_key, preferred_name, phone,"
         " created_at) VALUES (1, 1, 'Kim Lee', 'kim lee', '', '', :now)",
         now=_at(NOW))  # fmt: skip
    start = NOW + timedelta(days=1)
    _old_visit(1, patient=1, start=start)
    _run(OLD_OUTBOX, visit=1, event="booked", method="REQUEST", start=_at(start),
         end=_at(start + timedelta(minutes=30)), mid="<c1@x>", due=_at(NOW),
         now=_at(NOW))  # fmt: skip
    outbox = _run("SELECT * FROM outbox_message ORDER BY id")

    upgrade()

    assert _run("SELECT * FROM outbox_message ORDER BY id") == outbox
    assert _run("SELECT id, course_id FROM appointment") == [(1, None)]
    assert _run("SELECT needling_spacing_days, reassess_after_sessions, reassess_after_weeks"
                " FROM clinic") == []  # fmt: skip
    if db.engine.dialect.name == "sqlite":  # the rebuilt clinic keeps its catalog triggers
        names = {row[0] for row in _run("SELECT name FROM sqlite_master WHERE type='trigger'")}
        assert "clinic_bumps_catalog_version_update" in names
        assert "appointment_no_patient_overlap_insert" in names
    # A second visit overlapping the first is still refused by the database.
    with pytest.raises(Exception, match="overlap"):
        _old_visit(2, patient=1, start=start)
    _run("INSERT INTO course (patient_id, therapist_id, service_id, sessions, cadence_days,"
         " weekdays, status, end_reason, created_by, created_at) VALUES (1, 1, 1, 8, 7, 127,"
         " 'active', '', 'reception', :now)", now=_at(NOW))  # fmt: skip
    _run("UPDATE appointment SET course_id = 1")

    downgrade(revision="0011")
    assert "course" not in _tables()
    assert "course_id" not in _columns("appointment")
    assert _run("SELECT * FROM outbox_message ORDER BY id") == outbox
    upgrade()
    assert _run("SELECT id, course_id FROM appointment") == [(1, None)]
