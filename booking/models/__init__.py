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
from booking.models.course import Course, CourseStatus
from booking.models.outbox import (
    CalendarFeed,
    Delivery,
    Event,
    Method,
    OutboxMessage,
    Recipient,
)
from booking.models.patient import (
    AccessLink,
    ChangeField,
    ChangeStatus,
    Contact,
    Patient,
    PatientChange,
    email_key,
    name_key,
    normalize_email,
)
from booking.models.screening import QUESTIONS, Consent, Screening
from booking.models.service import Service, ServiceTimes
from booking.models.staff import Role, StaffSession, StaffUser
from booking.models.therapist import Therapist, TimeOff, WorkingHours, therapist_service

__all__ = [
    "PATIENT_OVERLAP",
    "QUESTIONS",
    "THERAPIST_OVERLAP",
    "AccessLink",
    "Appointment",
    "AuditEvent",
    "Base",
    "CalendarFeed",
    "CatalogVersion",
    "ChangeField",
    "ChangeStatus",
    "Clinic",
    "ClinicPolicy",
    "Closure",
    "Consent",
    "Contact",
    "Course",
    "CourseStatus",
    "Delivery",
    "Event",
    "IdempotencyKey",
    "Method",
    "OutboxMessage",
    "Patient",
    "PatientChange",
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
    "email_key",
    "name_key",
    "normalize_email",
    "overlaps_sql",
    "therapist_service",
    "utcnow",
]
