"""Appointments, the append-only audit trail and idempotency records.

The rule "no two active appointments of one therapist overlap (with buffers), and no patient
is in two overlapping active appointments" is enforced by the database itself, created by the
migration `0001`: exclusion constraints on PostgreSQL, triggers on SQLite. A refusal always
carries the name `THERAPIST_OVERLAP` or `PATIENT_OVERLAP`.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from booking.models.base import Base, one_of, utcnow
from booking.models.patient import Patient
from booking.models.service import Service
from booking.models.therapist import Therapist

THERAPIST_OVERLAP = "appointment_no_therapist_overlap"
PATIENT_OVERLAP = "appointment_no_patient_overlap"


class Status(enum.StrEnum):
    BOOKED = "booked"
    CANCELLED = "cancelled"
    COMPLETED = "completed"
    NO_SHOW = "no_show"


class Source(enum.StrEnum):
    ONLINE = "online"
    STAFF = "staff"


class Appointment(Base):
    """A visit: `[start_at, end_at)` with the patient, then the buffer until `occupied_until`.

    Every status but `cancelled` holds its time: a completed or missed visit still happened.
    """

    __tablename__ = "appointment"
    __table_args__ = (
        CheckConstraint("end_at > start_at", name="ends_after_start"),
        CheckConstraint("occupied_until >= end_at", name="buffer_not_negative"),
        CheckConstraint(one_of("status", Status), name="status_valid"),
        CheckConstraint(one_of("source", Source), name="source_valid"),
        CheckConstraint("sequence >= 0", name="sequence_non_negative"),
        Index("ix_appointment_therapist_id_start_at", "therapist_id", "start_at"),
        Index("ix_appointment_patient_id_start_at", "patient_id", "start_at"),
        Index("ix_appointment_course_id", "course_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(12), unique=True)
    therapist_id: Mapped[int] = mapped_column(ForeignKey("therapist.id"))
    service_id: Mapped[int] = mapped_column(ForeignKey("service.id"))
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"))
    start_at: Mapped[datetime]
    end_at: Mapped[datetime]
    occupied_until: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16), default=Status.BOOKED.value)
    source: Mapped[str] = mapped_column(String(16), default=Source.ONLINE.value)
    calendar_uid: Mapped[str] = mapped_column(String(255), unique=True)
    sequence: Mapped[int] = mapped_column(default=0)
    manage_token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    notes: Mapped[str] = mapped_column(Text, default="")
    cancel_reason: Mapped[str] = mapped_column(String(500), default="")
    arrived_at: Mapped[datetime | None]  # reception checked the patient in
    course_id: Mapped[int | None] = mapped_column(ForeignKey("course.id"))  # a session of it
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    therapist: Mapped[Therapist] = relationship()
    service: Mapped[Service] = relationship()
    patient: Mapped[Patient] = relationship()

    def snapshot(self) -> dict[str, Any]:
        """Return the audited fields: ids, times and state, never patient details."""
        return {
            "therapist_id": self.therapist_id,
            "service_id": self.service_id,
            "patient_id": self.patient_id,
            "start_at": self.start_at.isoformat(),
            "end_at": self.end_at.isoformat(),
            "status": self.status,
            "sequence": self.sequence,
        }


class AuditEvent(Base):
    """One change: who did what to which record, with the state before and after.

    Append-only: the database refuses UPDATE and DELETE on this table (migration `0001`).
    """

    __tablename__ = "audit_event"
    __table_args__ = (Index("ix_audit_event_entity_entity_id", "entity", "entity_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(80))
    action: Mapped[str] = mapped_column(String(40))
    entity: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[int]
    # An absent state is SQL NULL, whether the row came from the ORM or a Core INSERT.
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))


class IdempotencyKey(Base):
    """The first result of a POST that carried an `Idempotency-Key` header."""

    __tablename__ = "idempotency_key"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    appointment_id: Mapped[int] = mapped_column(ForeignKey("appointment.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
