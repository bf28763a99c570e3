"""The front desk's marks on a visit: arrived, completed, no-show (each audited).

A completed session that is a course's last planned one completes the course, in the same
transaction (`courses.progress.complete_if_done`); a no-show never does.

None of them moves the visit in anyone's calendar, so none raises the calendar SEQUENCE or
sends an invite. A visit completed with nothing booked after it queues one "book your next
visit" email (`book_next`), skipped if a next visit gets booked before it is sent.
"""

from __future__ import annotations

import enum
import logging
from datetime import datetime, timedelta

from booking.database import transactional
from booking.extensions import db
from booking.models import Appointment, AuditEvent, Event, Patient, Status
from booking.services import outbox
from booking.services.courses.next_visit import coming_visit
from booking.services.courses.progress import complete_if_done
from booking.services.errors import NotChangeable, NotFound

log = logging.getLogger(__name__)

EARLY_ARRIVAL = timedelta(hours=2)


class Mark(enum.StrEnum):
    ARRIVED = "arrived"
    COMPLETED = "completed"
    NO_SHOW = "no_show"


@transactional
def mark(appointment_id: int, what: Mark, *, actor: str, now: datetime) -> Appointment:
    """Record what happened to a booked visit, or raise why it cannot be recorded now."""
    appointment = db.session.get(Appointment, appointment_id)
    if appointment is None:
        raise NotFound("No such appointment.")
    if appointment.status != Status.BOOKED:
        raise NotChangeable(f"This appointment is {appointment.status.replace('_', '-')}.")
    before = appointment.snapshot() | {"arrived": appointment.arrived_at is not None}
    if what == Mark.ARRIVED:
        if now < appointment.start_at - EARLY_ARRIVAL or now >= appointment.end_at:
            raise NotChangeable("A patient can be checked in from 2 hours before the visit.")
        if appointment.arrived_at is None:
            appointment.arrived_at = now
    else:
        if now < appointment.start_at:
            raise NotChangeable("A visit can be marked once it has started.")
        appointment.status = (
            Status.COMPLETED.value if what == Mark.COMPLETED else Status.NO_SHOW.value
        )
    appointment.updated_at = now
    db.session.add(
        AuditEvent(
            at=now,
            actor=actor,
            action=what.value,
            entity="appointment",
            entity_id=appointment.id,
            before=before,
            after=appointment.snapshot() | {"arrived": appointment.arrived_at is not None},
        )
    )
    db.session.flush()
    log.info("appointment %s marked %s", appointment.id, what.value)
    if what != Mark.COMPLETED:
        return appointment
    if appointment.course_id is not None and complete_if_done(
        appointment.course_id, actor=actor, now=now
    ):
        return appointment  # the course's last session: nothing next to ask for
    if coming_visit(appointment.patient_id, now) is None:
        # Nothing booked after a session: the patient is asked to book the next one.
        patient = db.session.get_one(Patient, appointment.patient_id)
        outbox.record_course_email(Event.BOOK_NEXT, appointment, contact=patient.addressee, now=now)
    return appointment
