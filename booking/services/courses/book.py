"""Book a course: the course and every picked visit in one transaction, or nothing at all.

Each visit goes through `write_booking`, the same checks and writes as any booking, so no rule
is skipped for a course; the whole course is one transaction, so a visit refused (a time taken
a moment ago, a rule) rolls back the course and the visits before it. The therapists' locks
are taken once, up front, in one order: two courses for overlapping therapists queue, never
deadlock, and a single booking racing into a course's slot waits and then sees it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert

from booking.database import execute, transactional
from booking.extensions import db
from booking.models import Course, CourseStatus, Event, Source
from booking.services import catalog as catalogs
from booking.services.booking import rules, writes
from booking.services.booking.series import write_series
from booking.services.booking.values import Booked, BookingRequest
from booking.services.courses.plan import Plan, check
from booking.services.courses.progress import progress
from booking.services.errors import BookingError, InvalidRequest, NotFound, SlotUnavailable

log = logging.getLogger(__name__)
REFERENCE_ATTEMPTS = 3
_INSERT_COURSE = insert(Course.__table__).returning(Course.__table__.c.id)


@dataclass(frozen=True, slots=True)
class Pick:
    """A session staff chose: its number in the course, its time and therapist."""

    number: int
    start: datetime
    therapist_id: int


@dataclass(frozen=True, slots=True)
class BookedCourse:
    course_id: int
    visits: tuple[Booked, ...]


class SessionRefused(BookingError):
    """One session of a course could not be booked, so none was."""

    code = "session_refused"

    def __init__(self, number: int | None, cause: BookingError) -> None:
        which = f"Session {number}" if number is not None else "A session"
        super().__init__(f"{which}: {cause.message} Nothing was booked.")
        self.number = number
        self.cause = cause


def book_course(
    plan: Plan,
    picks: Sequence[Pick],
    *,
    now: datetime,
    actor: str,
    course_id: int | None = None,
) -> BookedCourse:
    """Create the course of `plan` (or add to `course_id`) with every picked visit, or none."""
    for _ in range(REFERENCE_ATTEMPTS):
        try:
            booked = _book(plan, tuple(picks), now, actor, course_id)
        except writes.ReferenceTaken:
            continue
        log.info("course %s booked with %s visits", booked.course_id, len(booked.visits))
        return booked
    raise RuntimeError("could not draw an unused booking reference")


@transactional
def _book(
    plan: Plan, picks: tuple[Pick, ...], now: datetime, actor: str, course_id: int | None
) -> BookedCourse:
    catalog = catalogs.current()
    today = now.astimezone(catalog.clinic.zone).date()
    room = plan.sessions
    if course_id is None:
        service = check(catalog, plan, today=today)
    else:
        course = _active_course(course_id, plan.person_id)
        service = catalog.services[course.service_id]
        room = course.sessions - len(progress(course_id, now=now).held)
    _check_picks(picks, room)
    if course_id is None:
        course_id = execute(_INSERT_COURSE, _course_row(plan, service.id, actor, now)).scalar_one()
        planned = True
    else:
        planned = False
    ordered = sorted(picks, key=lambda pick: pick.start)
    requests = [
        BookingRequest(
            service=service.slug,
            start=pick.start,
            therapist_id=pick.therapist_id,
            person_id=plan.person_id,
            source=Source.STAFF,
            course_id=course_id,
        )
        for pick in ordered
    ]
    action = "course_planned" if planned else "sessions_booked"
    after = {
        "sessions": plan.sessions,
        "cadence_days": plan.cadence_days,
        "therapist_id": plan.therapist_id,
        "service_id": service.id,
    }
    try:
        visits = write_series(
            catalog, requests, now, actor, summary=Event.COURSE_BOOKED, course_event=(action, after)
        )
    except rules.Refused as exc:
        raise SessionRefused(ordered[exc.index].number, exc.cause) from exc
    except SlotUnavailable as exc:  # the database's own refusal: a time taken a moment ago
        raise SessionRefused(None, exc) from exc
    return BookedCourse(course_id, tuple(visits))


def _check_picks(picks: Sequence[Pick], room: int) -> None:
    if not picks:
        raise InvalidRequest({"visits": "Choose at least one visit to book."})
    if len(picks) > room:
        raise InvalidRequest({"visits": f"The course has room for {max(room, 0)} more visits."})
    if len({pick.number for pick in picks}) != len(picks):
        raise InvalidRequest({"visits": "A session is chosen twice."})
    starts = [pick.start for pick in picks]
    if len(set(starts)) != len(starts):
        raise InvalidRequest({"visits": "Two sessions are at the same time."})


def _course_row(plan: Plan, service_id: int, actor: str, now: datetime) -> dict[str, object]:
    window = plan.window
    return {
        "patient_id": plan.person_id,
        "therapist_id": plan.therapist_id,
        "service_id": service_id,
        "sessions": plan.sessions,
        "cadence_days": plan.cadence_days,
        "weekdays": sum(1 << day for day in plan.weekdays),
        "window_start": window[0] if window else None,
        "window_end": window[1] if window else None,
        "end_by": plan.end_by,
        "status": CourseStatus.ACTIVE.value,
        "end_reason": "",
        "created_by": actor,
        "created_at": now,
        "ended_at": None,
    }


def _active_course(course_id: int, person_id: int) -> Course:
    # Locked until this transaction ends: a course ended meanwhile (`changes.end`) waits, and
    # then ends with these visits booked, never with visits added after it ended.
    course = db.session.get(Course, course_id, with_for_update=True)
    if course is None or course.patient_id != person_id:
        raise NotFound("No such course.")
    if course.status != CourseStatus.ACTIVE:
        raise InvalidRequest({"course": "This course has ended: plan a new one."})
    return course
