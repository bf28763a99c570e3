"""The clinic's data model; every table is imported here so Alembic sees it."""

from booking.models.appointment import (
    PATIENT_OVERLAP,
    THERAPIST_OVERLAP,
    Appointment,
    AuditEvent,
    IdempotencyKey,
    Source,
    Status,
)
from booking.models.base import Base, UTCDateTime, overlaps_sql, utcnow
from booking.models.clinic import CatalogVersion, Clinic, ClinicPolicy, Closure
from booking.models.outbox import (
    CalendarFeed,
    Delivery,
    Event,
    Method,
    OutboxMessage,
    Recipient,
)
from booking.models.patient import Patient, normalize_email
from booking.models.screening import QUESTIONS, Consent, Screening
from booking.models.service import Service, ServiceTimes
from booking.models.staff import Role, StaffSession, StaffUser
from booking.models.therapist import Therapist, TimeOff, WorkingHours, therapist_service

__all__ = [
    "PATIENT_OVERLAP",
    "QUESTIONS",
    "THERAPIST_OVERLAP",
    "Appointment",
    "AuditEvent",
    "Base",
    "CalendarFeed",
    "CatalogVersion",
    "Clinic",
    "ClinicPolicy",
    "Closure",
    "Consent",
    "Delivery",
    "Event",
    "IdempotencyKey",
    "Method",
    "OutboxMessage",
    "Patient",
    "Recipient",
    "Role",
    "Screening",
    "Service",
    "ServiceTimes",
    "Source",
    "StaffSession",
    "StaffUser",
    "Status",
    "Therapist",
    "TimeOff",
    "UTCDateTime",
    "WorkingHours",
    "normalize_email",
    "overlaps_sql",
    "therapist_service",
    "utcnow",
]
