"""Reception sends a visit's confirmation again, when a patient says it never arrived.

One transaction: an outbox row for the patient with the invite as it stands (the same UID
and SEQUENCE, so their calendar keeps one event) and a new Message-ID, and its audit row.
Only a booked visit that has not ended has an invite to resend; a cancelled one is refused
(its cancellation went out when it was cancelled, and the visit page lists it).
"""

from __future__ import annotations

import logging
from datetime import datetime

from booking.database import transactional
from booking.extensions import db
from booking.models import Appointment, Patient, Status
from booking.services import audit, outbox
from booking.services.errors import NotChangeable, NotFound

log = logging.getLogger(__name__)


@transactional
def resend_confirmation(appointment_id: int, *, actor: str, now: datetime) -> str:
    """Queue the patient's confirmation again; return the new message's Message-ID."""
    visit = db.session.get(Appointment, appointment_id)
    if visit is None:
        raise NotFound("There is no such appointment.")
    if visit.status == Status.CANCELLED:
        raise NotChangeable(
            "This visit is cancelled: there is no invite to send again. The patient was sent "
            "the cancellation when it was cancelled."
        )
    if visit.status != Status.BOOKED or visit.end_at <= now:
        raise NotChangeable("This visit is over: there is no invite to send again.")
    patient = db.session.get_one(Patient, visit.patient_id)
    message_id = outbox.record_again(visit, contact=patient.addressee, now=now)
    audit.record(
        [
            audit.row(
                actor, "confirmation_resent", visit.id, now=now,
                after={"sequence": visit.sequence, "calendar_uid": visit.calendar_uid,
                       "message_id": message_id},
            )
        ]
    )  # fmt: skip
    log.info("appointment %s: confirmation queued again", visit.id)
    return message_id
