"""What a staff move would do, shown before it is done: before, after, and who is told.

The preview applies the move's own checks (`booking.reschedule`) without writing anything;
the move itself still checks everything again, under its locks and its sequence check.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from booking.extensions import db
from booking.models import Patient, Recipient
from booking.services import catalog as catalogs
from booking.services.availability import slot_at
from booking.services.booking import Change, changeable, offering_therapist
from booking.services.booking.rules import keep_needling_spaced
from booking.services.catalog import TherapistInfo
from booking.services.errors import InvalidRequest, NotFound, SlotUnavailable, TooSoon
from booking.services.outbox import addressees


@dataclass(frozen=True, slots=True)
class Told:
    """One email a move sends."""

    who: str  # "patient" or "therapist"
    name: str
    address: str
    cancellation: bool  # the former therapist's: the visit leaves their calendar


@dataclass(frozen=True, slots=True)
class MovePreview:
    appointment_id: int
    sequence: int
    was_start: datetime
    was_end: datetime
    was_therapist: TherapistInfo
    start: datetime
    end: datetime
    therapist: TherapistInfo
    told: list[Told]
    not_emailed: list[str]  # therapists without an address: their calendar feed shows it
    # Why the new day is too close to another needling visit of the person's: staff may
    # still move it, with a reason (the move asks for one).
    too_soon: str = ""


def preview_move(
    appointment_id: int,
    start: datetime,
    *,
    now: datetime,
    therapist_id: int | None = None,
    expected_sequence: int | None = None,
) -> MovePreview:
    """Check a staff move as `reschedule` would, change nothing, and say what it would do."""
    catalog = catalogs.current()
    change = Change("preview", enforce_cutoff=False, expected_sequence=expected_sequence)
    appointment = changeable(catalog, appointment_id, now, change)
    service = catalog.services[appointment.service_id]
    target = appointment.therapist_id if therapist_id is None else therapist_id
    if start == appointment.start_at and target == appointment.therapist_id:
        same = "That is where the appointment is now: choose another time or therapist."
        raise InvalidRequest({"start": same}, same)
    therapist = offering_therapist(
        catalog, target, service, on=start.astimezone(catalog.clinic.zone).date()
    )
    free = slot_at(
        catalog,
        service,
        start,
        now=now,
        therapists=[therapist],
        exclude_appointment_id=appointment.id,
    )
    if free is None:
        raise SlotUnavailable()
    too_soon = ""
    try:
        keep_needling_spaced(catalog, service, appointment.patient_id, start, appointment.id)
    except TooSoon as exc:
        too_soon = exc.message
    patient = db.session.get(Patient, appointment.patient_id)
    if patient is None:  # its foreign key keeps it
        raise NotFound("No such patient.")
    everyone = addressees(catalog, patient.addressee, therapist.id, appointment.therapist_id)
    return MovePreview(
        appointment_id=appointment.id,
        sequence=appointment.sequence,
        was_start=appointment.start_at,
        was_end=appointment.end_at,
        was_therapist=catalog.therapist(appointment.therapist_id),
        start=start,
        end=start + service.duration,
        therapist=therapist,
        told=[Told(str(who), name, to, former) for who, name, to, former in everyone if to],
        not_emailed=[n for who, n, to, _ in everyone if who == Recipient.THERAPIST and not to],
        too_soon=too_soon,
    )
