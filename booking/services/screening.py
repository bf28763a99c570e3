"""The IMS safety screening and consent, required before a first needling on every path.

A needling service with no prerequisite (an initial assessment) is booked only with the 8
answers and consent, whoever books it: the patient online (consent ticked), the API (a
`screening` object), or reception by phone, who either reads the questions to the caller
(consent given verbally, recorded with who took it and when) or books with the screening
*pending*: the patient's emails then carry a private link to answer before the visit. Until
a therapist marks a screening with a "yes" reviewed, staff pages flag it.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select

from booking.database import transactional
from booking.extensions import db
from booking.models import Appointment, AuditEvent, Consent, Screening, Source, Status
from booking.models.screening import KEYS
from booking.services.catalog import ServiceInfo
from booking.services.errors import InvalidRequest, NotChangeable, NotFound

log = logging.getLogger(__name__)

MISSING = "The IMS safety screening and consent are needed to book this service."


class Flag(enum.StrEnum):
    PENDING = "screening pending"
    REVIEW = "review before needling"


def needs_screening(service: ServiceInfo) -> bool:
    """Return whether booking `service` asks the IMS safety screening: a first needling visit."""
    return service.requires_ims and service.prerequisite_id is None


def row_for_booking(
    service: ServiceInfo,
    answers: Mapping[str, bool] | None,
    *,
    consent: Consent,
    pending: bool,
    source: Source,
    actor: str,
    now: datetime,
) -> dict[str, Any] | None:
    """Check the screening a booking brings; return its row (without the appointment id).

    None when the service asks no screening. Raises `InvalidRequest` naming `screening`.
    """
    if not needs_screening(service):
        if answers is not None or pending:  # collect no health data the visit does not need
            raise InvalidRequest({"screening": "This service asks no safety screening."})
        return None
    staff = source == Source.STAFF
    if pending:
        if not staff:
            raise InvalidRequest({"screening": "Only clinic staff may leave the screening open."})
        if answers is not None:
            raise InvalidRequest({"screening": "Give the answers, or leave it pending: not both."})
        return {"recorded_by": actor, "consent": None, "consented_at": None}
    if answers is None:
        raise InvalidRequest({"screening": MISSING})
    if consent == Consent.VERBAL and not staff:
        raise InvalidRequest({"screening": "Only clinic staff record consent given verbally."})
    return {
        **_answers(answers),
        "consent": consent.value,
        "consented_at": now,
        "recorded_by": actor,
    }


def _answers(answers: Mapping[str, bool]) -> dict[str, bool]:
    if set(answers) != set(KEYS) or not all(isinstance(v, bool) for v in answers.values()):
        raise InvalidRequest({"screening": "Every screening question must be answered."})
    return {key: answers[key] for key in KEYS}


@transactional
def answer(
    appointment_id: int,
    answers: Mapping[str, bool],
    *,
    consent: Consent,
    actor: str,
    now: datetime,
) -> Screening:
    """Record the answers to a pending screening (the patient's link, or reception by phone)."""
    screening = _open(appointment_id)
    if not screening.pending:
        raise NotChangeable("The safety questions are already answered for this visit.")
    if appointment_is_over(appointment_id, now):
        raise NotChangeable("This visit is over or cancelled: the questions are closed.")
    for key, value in _answers(answers).items():
        setattr(screening, key, value)
    screening.consent = consent.value
    screening.consented_at = now
    screening.recorded_by = actor
    _audit(actor, "screening_answered", appointment_id, now, consent=consent.value)
    log.info("screening for appointment %s answered", appointment_id)
    return screening


@transactional
def mark_reviewed(appointment_id: int, *, actor: str, now: datetime) -> Screening:
    """A therapist has read the answers before needling: the flag goes (audited)."""
    screening = _open(appointment_id)
    if screening.pending:
        raise NotChangeable("The patient has not answered the safety questions yet.")
    if screening.reviewed_at is not None:
        raise NotChangeable("This screening is already marked reviewed.")
    screening.reviewed_at = now
    screening.reviewed_by = actor
    _audit(actor, "screening_reviewed", appointment_id, now)
    log.info("screening for appointment %s reviewed", appointment_id)
    return screening


def flags(appointment_ids: Iterable[int]) -> dict[int, Flag]:
    """The staff flag of each of these appointments that has one."""
    ids = list(appointment_ids)
    if not ids:
        return {}
    found = {}
    for screening in db.session.scalars(select(Screening).where(Screening.appointment_id.in_(ids))):
        if screening.pending:
            found[screening.appointment_id] = Flag.PENDING
        elif screening.needs_review:
            found[screening.appointment_id] = Flag.REVIEW
    return found


def pending_for(appointment_id: int) -> bool:
    """Whether this appointment's screening still waits for the patient's answers."""
    screening = db.session.get(Screening, appointment_id)
    return screening is not None and screening.pending


def appointment_is_over(appointment_id: int, now: datetime) -> bool:
    appointment = db.session.get(Appointment, appointment_id)
    return appointment is None or appointment.status != Status.BOOKED or appointment.end_at <= now


def _open(appointment_id: int) -> Screening:
    screening = db.session.get(Screening, appointment_id)
    if screening is None:
        raise NotFound("This visit has no safety screening.")
    return screening


def _audit(actor: str, action: str, appointment_id: int, now: datetime, **after: Any) -> None:
    db.session.add(
        AuditEvent(
            at=now,
            actor=actor,
            action=action,
            entity="appointment",
            entity_id=appointment_id,
            after=after or None,
        )
    )
    db.session.flush()
