"""The drop-off list: active courses whose person has nothing booked, most lapsed first.

Patients stop IMS care part-way more often than they finish it, and nobody notices until
the course is long cold. Reception sees each lapsed course (who, with whom, sessions done of
planned, days since the last visit) and can email the patient the next free times, each
with its one-tap link: at most once a day per course, audited.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, and_, exists, func, select

from booking.database import execute, transactional
from booking.extensions import db
from booking.models import (
    Appointment,
    AuditEvent,
    Course,
    CourseStatus,
    Event,
    Patient,
    Status,
)
from booking.services import audit, outbox
from booking.services.courses.next_visit import HELD, coming_visit
from booking.services.errors import NotChangeable, NotFound

log = logging.getLogger(__name__)

SENT = "next_times_sent"  # the audit action of a "send next times"
RESEND_AFTER = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Lapsed:
    course_id: int
    person_id: int
    person_name: str
    therapist_id: int
    sessions: int
    done: int  # sessions completed
    last_visit: datetime | None  # the person's last held visit; None: none yet
    days_since: int  # since the last visit (or since the course was planned)
    sent_at: datetime | None  # the last "send next times"


def _query(now: datetime) -> Select[Any]:
    held = (
        select(Appointment.patient_id, func.max(Appointment.start_at).label("last"))
        .where(Appointment.status.in_(HELD), Appointment.start_at <= now)
        .group_by(Appointment.patient_id)
        .subquery()
    )
    done = (
        select(Appointment.course_id, func.count().label("done"))
        .where(Appointment.status == Status.COMPLETED.value, Appointment.course_id.is_not(None))
        .group_by(Appointment.course_id)
        .subquery()
    )
    sent = (
        select(AuditEvent.entity_id, func.max(AuditEvent.at).label("at"))
        .where(AuditEvent.entity == "course", AuditEvent.action == SENT)
        .group_by(AuditEvent.entity_id)
        .subquery()
    )
    coming = exists().where(
        Appointment.patient_id == Course.patient_id,
        Appointment.status == Status.BOOKED.value,
        Appointment.start_at > now,
    )
    since = func.coalesce(held.c.last, Course.created_at)
    return (
        select(
            Course.id,
            Course.patient_id,
            Patient.name,
            Course.therapist_id,
            Course.sessions,
            func.coalesce(done.c.done, 0),
            held.c.last,
            Course.created_at,
            sent.c.at,
        )
        .join(Patient, Patient.id == Course.patient_id)
        .outerjoin(held, held.c.patient_id == Course.patient_id)
        .outerjoin(done, done.c.course_id == Course.id)
        .outerjoin(sent, sent.c.entity_id == Course.id)
        .where(Course.status == CourseStatus.ACTIVE.value, ~coming)
        .order_by(since, Course.id)
    )


def lapsed(*, today: date, now: datetime, zone: ZoneInfo) -> list[Lapsed]:
    """Active courses with no future visit, the longest since a visit first."""
    found = []
    for cid, pid, name, tid, sessions, done, last, created, sent in execute(_query(now)):
        since = (last or created).astimezone(zone).date()
        found.append(Lapsed(cid, pid, name, tid, sessions, done, last, (today - since).days, sent))
    return found


@transactional
def send_next_times(course_id: int, *, actor: str, now: datetime) -> None:
    """Email the course's person their next free times, or raise why not (audited)."""
    course = db.session.get(Course, course_id, with_for_update=True)  # one send at a time
    if course is None:
        raise NotFound("There is no such course.")
    if course.status != CourseStatus.ACTIVE:
        raise NotChangeable("This course has ended: there are no next times to send.")
    if coming_visit(course.patient_id, now) is not None:
        raise NotChangeable("This patient has a visit booked: no need to send times.")
    last_sent = db.session.scalar(
        select(func.max(AuditEvent.at)).where(
            AuditEvent.entity == "course", AuditEvent.entity_id == course.id,
            AuditEvent.action == SENT,
        )
    )  # fmt: skip
    if last_sent is not None and last_sent > now - RESEND_AFTER:
        raise NotChangeable(
            "Next times were sent to this patient less than a day ago. Please wait, or call."
        )
    visit = _last_held(course)
    if visit is None:
        raise NotChangeable("This course has no visit yet to follow: book its first one.")
    patient = db.session.get_one(Patient, course.patient_id)
    outbox.record_course_email(Event.NEXT_TIMES, visit, contact=patient.addressee, now=now)
    audit.record(
        [audit.row(actor, SENT, course.id, now=now, entity="course",
                   after={"appointment_id": visit.id})]
    )  # fmt: skip
    log.info("course %s: next times queued", course.id)


def _last_held(course: Course) -> Appointment | None:
    """The course's last held visit, else the person's (the visit the email is about)."""
    for mine in (Appointment.course_id == course.id, Appointment.patient_id == course.patient_id):
        visit = db.session.scalars(
            select(Appointment)
            .where(and_(mine, Appointment.status.in_(HELD)))
            .order_by(Appointment.start_at.desc())
            .limit(1)
        ).first()
        if visit is not None:
            return visit
    return None
