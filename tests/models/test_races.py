"""Many processes at one slot: exactly one wins, on SQLite (a file) and on PostgreSQL."""

from __future__ import annotations

import multiprocessing
import os
import time
from collections import Counter
from collections.abc import Callable
from datetime import timedelta

import pytest
from rawsql import INTEGRITY, T9, raw_connection
from sqlalchemy import func, select
from support import BORN, MONDAY, NOW, Clock, local, screening_for

from booking import create_app
from booking.extensions import db
from booking.models import Appointment, Clinic, Contact, Patient
from booking.services import catalog as catalogs
from booking.services.booking import Booked, BookingRequest, PatientDetails, book
from booking.services.errors import BookingError

ATTEMPTS = 50
TUESDAY = MONDAY + timedelta(days=1)
pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]  # its waits are bounded at 180 s


def race(url: str, attempts: list[Callable[[], str]]) -> Counter[str]:
    """Run each attempt in its own forked process, released together; count the outcomes."""
    before = _backends(url)
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(len(attempts))
    results = context.Queue()

    def child(attempt: Callable[[], str]) -> None:
        try:
            barrier.wait(timeout=120)
            results.put(attempt())
        except BaseException as exc:  # report everything: a crash must fail the test
            results.put(f"crash: {exc!r}")
        finally:
            results.close()
            results.join_thread()
            os._exit(0)

    for attempt in attempts:  # here, one at a time: each child inherits its attempt ready
        getattr(attempt, "prepare", lambda: None)()
    processes = [context.Process(target=child, args=(a,)) for a in attempts]
    for process in processes:
        process.start()
    outcomes = Counter(results.get(timeout=180) for _ in processes)
    for process in processes:
        process.join(timeout=60)
    _wait_for_backends(url, before)
    return outcomes


def _backends(url: str) -> int:
    """How many other server processes serve this PostgreSQL database (0 on SQLite)."""
    if not url.startswith("postgresql"):
        return 0
    with raw_connection(url) as conn:
        return conn.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchone()[0]


def _wait_for_backends(url: str, before: int, timeout: float = 60) -> None:
    """Wait until the racers' server processes have ended.

    A PostgreSQL backend outlives its client by a moment, and on a busy 2-core machine fifty
    of them still held connection slots when the next race started fifty more: beyond the
    server's 100, one racer was refused with "too many clients".
    """
    deadline = time.monotonic() + timeout
    while (left := _backends(url)) > before:
        if time.monotonic() > deadline:
            raise AssertionError(
                f"{left - before} racers' connections outlived them by {timeout} s"
            )
        time.sleep(0.1)


def racer(
    service: str, start, n: int, therapist_id: int, *, person: tuple[int, int] | None = None
) -> BookingRequest:
    """A booking request from the n-th racing patient: new, or `person` = (id, contact) on
    record, booking online as a household its emailed link verified."""
    return BookingRequest(
        service=service,
        start=start,
        therapist_id=therapist_id,
        patient=None
        if person
        else PatientDetails(
            f"Racer {n}", f"racer{n}@example.com", "604-555-0100", date_of_birth=BORN
        ),
        person_id=person[0] if person else None,
        contact_id=person[1] if person else None,
        screening=screening_for(service),
    )


def person_of(app, n: int) -> tuple[int, int]:
    """The n-th racer as a person on record: their id and their contact's."""
    with app.app_context():
        row = db.session.execute(
            select(Patient.id, Patient.contact_id).where(Patient.name == f"Racer {n}")
        ).one()
        db.session.remove()
        db.engine.dispose()  # no pooled connection may cross the fork
    return int(row[0]), int(row[1])


class booking_attempt:
    """Book `request` from a fresh app of its own, as another server process would."""

    def __init__(
        self,
        url: str,
        request: BookingRequest,
        *,
        key: str | None = None,
        answer: Callable[[Booked], str] = lambda booked: "booked",
    ) -> None:
        self.url, self.request, self.key, self.answer = url, request, key, answer
        self.app = None

    def prepare(self) -> None:
        """Start like a warm server: the app made and the reference data loaded.

        Done before the race, so that every attempt reaches the database at the same moment,
        and none needs the second connection that loading the reference data takes (fifty
        racers loading it at once went past PostgreSQL's 100 connections).
        """
        if self.app is not None:
            return
        config = {"TESTING": True, "SECRET_KEY": "t", "SQLALCHEMY_DATABASE_URI": self.url}
        self.app = create_app({**config, "CLOCK": Clock()})
        with self.app.app_context():
            catalogs.current()
            db.session.remove()
            db.engine.dispose()  # no pooled connection may cross the fork

    def __call__(self) -> str:
        self.prepare()
        with self.app.app_context():
            try:
                return self.answer(book(self.request, now=NOW, idempotency_key=self.key))
            except BookingError as exc:
                return exc.code
            finally:
                db.session.remove()
                db.engine.dispose()


def appointments(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Appointment))


@pytest.fixture
def therapist(app, world) -> int:
    therapist_id = world.make_therapist()
    with app.app_context():
        db.engine.dispose()  # no pooled connection may cross the fork
    return therapist_id


def test_fifty_processes_one_slot_one_booking(app, database_url, therapist):
    attempts = [
        booking_attempt(database_url, racer("assessment", local(TUESDAY, 9), n, therapist))
        for n in range(ATTEMPTS)
    ]
    outcomes = race(database_url, attempts)
    assert outcomes == Counter({"booked": 1, "slot_unavailable": ATTEMPTS - 1})
    assert appointments(app) == 1


def test_overlapping_services_race_for_one_therapist(app, database_url, world, therapist):
    # Half the racers want a 30-minute follow-up at 09:30 and had an assessment (with another
    # therapist) earlier in the week; half want a 60-minute assessment at 09:00.
    race_day = TUESDAY + timedelta(days=7)
    other = world.make_therapist("Daniel Okafor")
    times = [(9, 0), (10, 15), (13, 0), (14, 15), (15, 30)]
    for n in range(0, ATTEMPTS, 2):
        day = TUESDAY + timedelta(days=n // 2 // len(times))
        start = local(day, *times[n // 2 % len(times)])
        assert booking_attempt(database_url, racer("assessment", start, n, other))() == "booked"
    attempts = [
        booking_attempt(
            database_url,
            racer("follow-up", local(race_day, 9, 30), n, therapist, person=person_of(app, n)),
        )
        if n % 2 == 0
        else booking_attempt(database_url, racer("assessment", local(race_day, 9), n, therapist))
        for n in range(ATTEMPTS)
    ]
    before = appointments(app)
    with app.app_context():
        db.engine.dispose()
    outcomes = race(database_url, attempts)
    assert outcomes == {"booked": 1, "slot_unavailable": ATTEMPTS - 1}, outcomes
    assert appointments(app) == before + 1


def test_raw_inserts_racing_past_the_app_still_leave_one(app, database_url, raw_insert):
    with app.app_context():
        db.engine.dispose()

    def attempt_for(n: int) -> Callable[[], str]:
        def attempt() -> str:
            try:  # every process a different patient, all at 09:00 with one therapist
                raw_insert(T9 + timedelta(minutes=n % 3), patient_id=1 + n % 2)
                return "inserted"
            except INTEGRITY:
                return "refused"

        return attempt

    outcomes = race(database_url, [attempt_for(n) for n in range(ATTEMPTS)])
    assert outcomes == Counter({"inserted": 1, "refused": ATTEMPTS - 1})
    assert appointments(app) == 1


def test_concurrent_retries_with_one_idempotency_key_make_one_booking(app, database_url, therapist):
    request = racer("assessment", local(TUESDAY, 9), 0, therapist)
    attempt = booking_attempt(
        database_url,
        request,
        key="same-key",
        answer=lambda booked: f"{booked.appointment.id}:{booked.manage_token}",
    )
    outcomes = race(database_url, [attempt] * 10)
    assert len(outcomes) == 1, outcomes  # every retry got the very same booking and token
    assert appointments(app) == 1


def test_one_key_racing_two_different_bodies_is_refused_cleanly(app, database_url, therapist):
    attempts = [
        booking_attempt(database_url, racer("assessment", local(TUESDAY, h), 0, therapist), key="k")
        for h in (9, 13)
    ]
    outcomes = race(database_url, attempts * 4)
    assert outcomes["booked"] + outcomes["idempotency_key_reused"] == 8, outcomes
    assert appointments(app) == 1


def one_person(
    service: str, start, therapist_id: int, *, spelled: str = "Ann Gill"
) -> BookingRequest:
    """One new patient, typed as each browser would (case and Gmail's dots aside)."""
    email = "Ann.Gill@gmail.com" if spelled.istitle() else "anngill@GMAIL.com"
    return BookingRequest(
        service=service,
        start=start,
        therapist_id=therapist_id,
        patient=PatientDetails(spelled, email, "604-555-0100", date_of_birth=BORN),
        screening=screening_for(service),
    )


def test_one_new_person_racing_to_many_therapists_at_once_is_booked_once(app, database_url, world):
    # The same person from many browsers at one hour, each with another therapist: their
    # contact and person are made once, and they are in one place at a time.
    therapists = [world.make_therapist(f"Therapist {n}") for n in range(5)]
    with app.app_context():
        db.engine.dispose()
    attempts = [
        booking_attempt(
            database_url,
            one_person(
                "assessment",
                local(TUESDAY, 9, 5 * (n % 3)),
                therapists[n % 5],
                spelled="Ann Gill" if n % 2 else "ann  GILL",
            ),
        )
        for n in range(ATTEMPTS)
    ]
    outcomes = race(database_url, attempts)
    assert outcomes == Counter({"booked": 1, "slot_unavailable": ATTEMPTS - 1}), outcomes
    assert appointments(app) == 1
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Contact)) == 1
        assert db.session.scalar(select(func.count()).select_from(Patient)) == 1


def spacing_off(app, days: int = 0) -> None:
    with app.app_context():
        db.session.execute(Clinic.__table__.update().values(needling_spacing_days=days))
        db.session.commit()
        db.engine.dispose()


def test_one_person_racing_needling_on_adjacent_days_is_booked_once(app, database_url, world):
    # No constraint holds the spacing between one person's needling visits (other days, other
    # therapists): the person's lock makes racers check it one after the other.
    therapists = [world.make_therapist(f"Therapist {n}") for n in range(5)]
    request = racer("assessment", local(TUESDAY, 9), 0, therapists[0])
    assert booking_attempt(database_url, request)() == "booked"
    person = person_of(app, 0)
    first = TUESDAY + timedelta(days=7)
    attempts = [
        booking_attempt(
            database_url,
            racer(
                "follow-up",
                local(first + timedelta(days=n % 2), 9 + n % 3),
                n,
                therapists[n % 5],
                person=person,
            ),
        )
        for n in range(20)
    ]
    outcomes = race(database_url, attempts)
    assert outcomes == Counter({"booked": 1, "too_soon": 19}), outcomes
    assert appointments(app) == 2


def test_one_person_on_record_racing_follow_ups_is_in_one_place(app, database_url, world):
    # A verified person books follow-ups with two therapists at overlapping times, many times
    # over; a household member (another person of the same contact) books freely beside them.
    # The needling spacing is off: the database's guarantee is what answers here.
    therapists = [world.make_therapist(f"Therapist {n}") for n in range(2)]
    spacing_off(app)
    for n in (0, 1):  # mother and son, each with an assessment on record, one email
        request = racer("assessment", local(TUESDAY, 9 + 2 * n), n, therapists[n])
        assert booking_attempt(database_url, request)() == "booked"
    mother, son = person_of(app, 0), person_of(app, 1)
    with app.app_context():  # the son joins his mother's household
        db.session.execute(
            Patient.__table__.update().where(Patient.id == son[0]).values(contact_id=mother[1])
        )
        db.session.commit()
        db.engine.dispose()
    son = (son[0], mother[1])
    day = TUESDAY + timedelta(days=7)
    attempts = [
        booking_attempt(
            database_url,
            racer("follow-up", local(day, 10, 10 * (n % 2)), n, therapists[n % 2], person=mother),
        )
        for n in range(ATTEMPTS - 1)
    ] + [booking_attempt(database_url, racer("follow-up", local(day, 13), 1, therapists[0],
                                             person=son))]  # fmt: skip
    outcomes = race(database_url, attempts)
    assert outcomes == Counter({"booked": 2, "slot_unavailable": ATTEMPTS - 2}), outcomes
    with app.app_context():
        booked = db.session.execute(
            select(Appointment.patient_id, func.count())
            .where(Appointment.start_at >= local(day, 0))
            .group_by(Appointment.patient_id)
        ).all()
    assert sorted(booked) == sorted([(mother[0], 1), (son[0], 1)])
