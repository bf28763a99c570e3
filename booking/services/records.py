"""What the staff pages read: rows by id and the lists around them, in the request's session.

Reads only; every change goes through a service that owns its transaction. The views take
their rows from here, so no blueprint holds the database session itself.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from sqlalchemy import bindparam, select

from booking.database import execute
from booking.extensions import db
from booking.models import (
    Appointment,
    AuditEvent,
    Base,
    Closure,
    OutboxMessage,
    Patient,
    Screening,
    Service,
    StaffUser,
    Status,
    Therapist,
)

M = TypeVar("M", bound=Base)


@dataclass(frozen=True, slots=True)
class VisitSummary:
    """A visit as a page about what follows it needs it: who, with whom, what and when."""

    id: int
    therapist_id: int
    patient_id: int
    service_id: int
    start_at: datetime
    person_name: str


# Core, on the fast path: the course's pages ask it on each request (bench/courses.py).
_VISIT_SUMMARY = (
    select(
        Appointment.id,
        Appointment.therapist_id,
        Appointment.patient_id,
        Appointment.service_id,
        Appointment.start_at,
        Patient.name,
    )
    .join(Patient, Patient.id == Appointment.patient_id)
    .where(Appointment.id == bindparam("id"))
)


def find(model: type[M], row_id: int) -> M | None:
    """The row of `model` with this id, or None."""
    return db.session.get(model, row_id)


def visit_summary(appointment_id: int) -> VisitSummary | None:
    """The visit with this id, and its patient's name; or None."""
    row = execute(_VISIT_SUMMARY, {"id": appointment_id}).first()
    return VisitSummary(*row) if row is not None else None


def therapists() -> list[Therapist]:
    """Every therapist, switched off or not, by name."""
    return list(db.session.scalars(select(Therapist).order_by(Therapist.name)))


def therapist_names() -> dict[int, str]:
    return {t.id: t.name for t in db.session.scalars(select(Therapist))}


def services() -> list[Service]:
    """Every service, offered or not, in the order they were added."""
    return list(db.session.scalars(select(Service).order_by(Service.id)))


def accounts() -> list[StaffUser]:
    return list(db.session.scalars(select(StaffUser).order_by(StaffUser.name)))


def accounts_among(ids: Iterable[int]) -> list[StaffUser]:
    return list(db.session.scalars(select(StaffUser).where(StaffUser.id.in_(list(ids)))))


def closures() -> list[Closure]:
    return list(db.session.scalars(select(Closure).order_by(Closure.starts_on)))


def history(appointment_id: int) -> list[AuditEvent]:
    """What happened to the appointment, oldest first."""
    return list(
        db.session.scalars(
            select(AuditEvent)
            .where(AuditEvent.entity == "appointment", AuditEvent.entity_id == appointment_id)
            .order_by(AuditEvent.at, AuditEvent.id)
        )
    )


def messages(appointment_id: int) -> list[OutboxMessage]:
    """Every email about the appointment, queued, sent or not, in the order queued."""
    return list(
        db.session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.appointment_id == appointment_id)
            .order_by(OutboxMessage.id)
        )
    )


def screenings_of(appointment_ids: Iterable[int]) -> dict[int, Screening]:
    """The screenings of these appointments, by appointment id (those that have one)."""
    found = db.session.scalars(
        select(Screening).where(Screening.appointment_id.in_(list(appointment_ids)))
    )
    return {s.appointment_id: s for s in found}


def booked_visits(
    therapist_id: int, since: datetime, until: datetime
) -> list[tuple[Appointment, Patient]]:
    """The therapist's booked visits starting in [since, until), with their patients."""
    rows = db.session.execute(
        select(Appointment, Patient)
        .join(Patient, Patient.id == Appointment.patient_id)
        .where(
            Appointment.therapist_id == therapist_id,
            Appointment.status == Status.BOOKED.value,
            Appointment.start_at >= since,
            Appointment.start_at < until,
        )
        .order_by(Appointment.start_at)
    )
    return [(visit, patient) for visit, patient in rows]
