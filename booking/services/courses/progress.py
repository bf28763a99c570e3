"""What a course looks like now: "3 of 8 done", its visits, and what replaced a cancelled one.

Reads only, but for `complete_if_done`, which the desk's mark calls in its transaction: a
course whose planned sessions have all taken place is completed then, not by a later job.
A no-show is not a session done; nor is a visit whose time has passed but that reception has
not marked yet (it is `awaiting`, neither done nor upcoming nor left to book).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, case, func, select

from booking.extensions import db
from booking.models import Appointment, AuditEvent, Course, CourseStatus, Status
from booking.services.errors import NotFound

log = logging.getLogger(__name__)
# How long an ended or completed course still shows to the patient in My visits.
RECENTLY_ENDED = timedelta(days=90)
Fetched = Row[*tuple[Any, ...]]  # a row of a query below, read by column name


@dataclass(frozen=True, slots=True)
class Session:
    """One visit of a course, with its place in it."""

    id: int
    start_at: datetime
    end_at: datetime
    status: str
    therapist_id: int
    service_id: int
    number: int | None  # its session number (1, 2 ...); None for a cancelled visit
    # A cancelled visit: the course's first visit booked after the cancellation (each
    # replacement stands for one cancelled visit), or None if nothing was booked since.
    replaced_by: int | None = None

    def upcoming(self, now: datetime) -> bool:
        return self.status == Status.BOOKED and self.start_at > now


@dataclass(frozen=True, slots=True)
class Progress:
    course_id: int
    patient_id: int
    therapist_id: int
    status: str
    planned: int
    done: int  # completed visits
    no_shows: int
    upcoming: int  # booked, not yet begun
    awaiting: int  # booked, begun or past, not marked by reception yet
    cancelled: int
    visits: tuple[Session, ...]  # every visit, cancelled ones too, by start

    @property
    def held(self) -> tuple[Session, ...]:
        """The visits that count as sessions: done, or booked (to come or awaiting its mark);
        a cancelled or missed one is booked again."""
        return tuple(v for v in self.visits if v.status in (Status.BOOKED, Status.COMPLETED))

    @property
    def remaining(self) -> int:
        """Sessions still to book: never below 0 (staff may book more than planned)."""
        return max(0, self.planned - self.done - self.upcoming - self.awaiting)

    @property
    def label(self) -> str:
        return f"{self.done} of {self.planned} done"

    @property
    def active(self) -> bool:
        return self.status == CourseStatus.ACTIVE

    def session(self, visit_id: int) -> Session | None:
        return next((v for v in self.visits if v.id == visit_id), None)


def progress(course_id: int, *, now: datetime) -> Progress:
    """The course's progress at `now`, or `NotFound`."""
    found = progresses([course_id], now=now)
    if course_id not in found:
        raise NotFound("No such course.")
    return found[course_id]


def progresses(course_ids: Iterable[int], *, now: datetime) -> dict[int, Progress]:
    """Many courses' progress in two queries (for lists), keyed by course id."""
    ids = sorted(set(course_ids))
    if not ids:
        return {}
    courses = db.session.execute(
        select(
            Course.id,
            Course.patient_id,
            Course.therapist_id,
            Course.status,
            Course.sessions,
        ).where(Course.id.in_(ids))
    ).all()
    rows = db.session.execute(
        select(
            Appointment.id,
            Appointment.course_id,
            Appointment.start_at,
            Appointment.end_at,
            Appointment.status,
            Appointment.therapist_id,
            Appointment.service_id,
            Appointment.created_at,
            _CANCELLED_AT,
        )
        .where(Appointment.course_id.in_(ids))
        .order_by(Appointment.start_at, Appointment.id)
    ).all()
    by_course: dict[int, list[Fetched]] = {i: [] for i in ids}
    for row in rows:
        by_course[row.course_id].append(row)
    return {c.id: _progress(c, by_course[c.id], now) for c in courses}


# When a cancelled visit was cancelled: its audit row's time (`updated_at` moves on with a
# later write, such as a merge of two records), through the audit trail's index.
_CANCELLED_AT = case(
    (
        Appointment.status == Status.CANCELLED.value,
        func.coalesce(
            select(func.max(AuditEvent.at))
            .where(
                AuditEvent.entity == "appointment",
                AuditEvent.entity_id == Appointment.id,
                AuditEvent.action == "cancelled",
            )
            .scalar_subquery(),
            Appointment.updated_at,
        ),
    ),
).label("cancelled_at")


def of_people(patient_ids: Iterable[int], *, now: datetime) -> dict[int, list[Progress]]:
    """Each person's active and recently ended courses, newest first (for My visits)."""
    ids = sorted(set(patient_ids))
    if not ids:
        return {}
    courses = db.session.execute(
        select(Course.id, Course.patient_id)
        .where(
            Course.patient_id.in_(ids),
            (Course.status == CourseStatus.ACTIVE.value) | (Course.ended_at > now - RECENTLY_ENDED),
        )
        .order_by(Course.created_at.desc(), Course.id.desc())
    ).all()
    found = progresses([c.id for c in courses], now=now)
    mine: dict[int, list[Progress]] = {i: [] for i in ids}
    for c in courses:
        mine[c.patient_id].append(found[c.id])
    return mine


def _progress(course: Fetched, rows: Sequence[Fetched], now: datetime) -> Progress:
    replaced = _replacements(rows)
    visits: list[Session] = []
    number = 0
    for row in rows:
        held = row.status != Status.CANCELLED
        number += held
        visits.append(
            Session(
                id=row.id,
                start_at=row.start_at,
                end_at=row.end_at,
                status=row.status,
                therapist_id=row.therapist_id,
                service_id=row.service_id,
                number=number if held else None,
                replaced_by=replaced.get(row.id),
            )
        )
    booked = [v for v in visits if v.status == Status.BOOKED]
    return Progress(
        course_id=course.id,
        patient_id=course.patient_id,
        therapist_id=course.therapist_id,
        status=course.status,
        planned=course.sessions,
        done=sum(v.status == Status.COMPLETED for v in visits),
        no_shows=sum(v.status == Status.NO_SHOW for v in visits),
        upcoming=sum(v.upcoming(now) for v in booked),
        awaiting=sum(not v.upcoming(now) for v in booked),
        cancelled=sum(v.status == Status.CANCELLED for v in visits),
        visits=tuple(visits),
    )


def _replacements(rows: Sequence[Fetched]) -> dict[int, int]:
    """Cancelled visit id -> the visit that replaced it.

    Taken in the order they were cancelled, each gets the first visit of the course booked
    after it that no earlier cancellation took; a replacement cancelled in turn has its own.
    """
    cancelled = sorted(
        (r for r in rows if r.status == Status.CANCELLED), key=lambda r: (r.cancelled_at, r.id)
    )
    booked = sorted(rows, key=lambda r: (r.created_at, r.id))
    taken: set[int] = set()
    found: dict[int, int] = {}
    for gone in cancelled:
        for candidate in booked:
            if (
                candidate.id != gone.id
                and candidate.id not in taken
                and candidate.created_at >= gone.cancelled_at
            ):
                found[gone.id] = candidate.id
                taken.add(candidate.id)
                break
    return found


def complete_if_done(course_id: int, *, actor: str, now: datetime) -> bool:
    """Complete an active course whose completed visits reach its planned sessions.

    In the caller's transaction (the desk's mark); audited. Answer whether it completed.
    """
    course = db.session.get(Course, course_id, with_for_update=True)
    if course is None or course.status != CourseStatus.ACTIVE:
        return False
    done = db.session.scalar(
        select(func.count())
        .select_from(Appointment)
        .where(
            Appointment.course_id == course_id,
            Appointment.status == Status.COMPLETED.value,
        )
    )
    if (done or 0) < course.sessions:
        return False
    course.status = CourseStatus.COMPLETED.value
    course.ended_at = now
    db.session.add(
        AuditEvent(
            at=now,
            actor=actor,
            action="course_completed",
            entity="course",
            entity_id=course.id,
            before={"status": CourseStatus.ACTIVE.value},
            after={"status": course.status, "done": done, "sessions": course.sessions},
        )
    )
    db.session.flush()
    log.info("course %s completed", course.id)
    return True
