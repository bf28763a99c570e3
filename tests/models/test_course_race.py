"""A course committing while single bookings race into its slots: all of it or none of it."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from support import ANSWERS, MONDAY, NOW, details, local
from test_races import appointments, booking_attempt, race, racer

from booking.extensions import db
from booking.models import Appointment, Course
from booking.services import booking
from booking.services import catalog as catalogs
from booking.services.booking import BookingRequest
from booking.services.courses.book import Pick, book_course
from booking.services.courses.plan import Plan, propose
from booking.services.errors import BookingError

TUESDAY = MONDAY + timedelta(days=1)
SESSIONS = 10
RACERS = 19
pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


class course_attempt(booking_attempt):
    """Book the whole course from a fresh app of its own, as another server process would."""

    def __init__(self, url: str, plan: Plan, picks: list[Pick]) -> None:
        super().__init__(url, BookingRequest("follow-up", NOW))
        self.plan, self.picks = plan, picks

    def __call__(self) -> str:
        self.prepare()
        assert self.app is not None
        with self.app.app_context():
            try:
                book_course(self.plan, self.picks, now=NOW, actor="staff:1")
                return "course"
            except BookingError as exc:
                return exc.code
            finally:
                db.session.remove()
                db.engine.dispose()


class late_start(booking_attempt):
    """A racer released a moment after the others: the course gets its locks first."""

    def __call__(self) -> str:
        self.prepare()
        time.sleep(0.05)
        return super().__call__()


@pytest.mark.parametrize("course_first", [False, True], ids=["together", "course-first"])
def test_single_bookings_racing_a_course_never_leave_part_of_it(
    app, database_url, world, course_first
):
    maya = world.make_therapist("Maya Chen")
    with app.app_context():
        assessment = booking.book(
            BookingRequest("assessment", local(TUESDAY, 9), details(1), screening=dict(ANSWERS)),
            now=NOW,
        )
        plan = Plan(assessment.appointment.patient_id, "follow-up", maya,
                    TUESDAY + timedelta(days=1), sessions=SESSIONS)  # fmt: skip
        proposal = propose(catalogs.current(), plan, now=NOW)
        picks = [Pick(v.number, v.start, v.therapist_id) for v in proposal.visits]
        db.session.remove()
        db.engine.dispose()  # no pooled connection may cross the fork
    assert all(pick.start for pick in picks) and len(picks) == SESSIONS
    # The racers want the course's last sessions: by the time the course reaches them it
    # has written the visits before, which must all go if one of these is taken first.
    late = [pick.start for pick in picks[-3:]]
    single = late_start if course_first else booking_attempt
    attempts = [
        single(database_url, racer("physio", late[n % 3], n + 10, maya)) for n in range(RACERS)
    ]
    attempts.insert(RACERS // 2, course_attempt(database_url, plan, picks))
    before = appointments(app)
    outcomes = race(database_url, attempts)

    assert set(outcomes) <= {"course", "session_refused", "booked", "slot_unavailable"}
    assert outcomes["course"] + outcomes["session_refused"] == 1
    with app.app_context():
        courses = db.session.scalar(select(func.count()).select_from(Course))
        in_course = db.session.scalar(
            select(func.count()).where(Appointment.course_id.is_not(None))
        )
        at_late = db.session.scalar(select(func.count()).where(Appointment.start_at.in_(late)))
    if outcomes["course"]:
        assert (courses, in_course) == (1, SESSIONS)
        assert outcomes["booked"] == 0  # every racer wanted a time the course holds
    else:
        assert (courses, in_course) == (0, 0)  # not one visit of the course is left
        assert 1 <= outcomes["booked"] <= 3
    # One appointment at most at each contested time, whoever won it.
    assert at_late == (3 if outcomes["course"] else outcomes["booked"])
    assert appointments(app) == before + outcomes["booked"] + (SESSIONS if courses else 0)
