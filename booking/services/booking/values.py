"""What callers hand the booking service, and what it hands back: plain frozen values."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, fields
from datetime import date, datetime
from typing import Any

from booking.models import Appointment, Consent, Source, email_key


@dataclass(frozen=True, slots=True)
class PatientDetails:
    """The person a visit is for, as typed; `email` is their contact's (maybe a parent's)."""

    name: str
    email: str
    phone: str = ""
    date_of_birth: date | None = None  # required for a new booking; checked by the service
    booker: str = ""  # who reads the messages, when they book for someone else


@dataclass(frozen=True, slots=True)
class BookingRequest:
    service: str  # the service's slug
    start: datetime
    patient: PatientDetails | None = None  # who the visit is for, as typed; or `person_id`
    therapist_id: int | None = None  # None: the first therapist free at `start`
    # A person on record: staff pick them; online, only with `contact_id`, the household an
    # emailed one-time link verified (My visits, or the API's patient access token).
    person_id: int | None = None
    contact_id: int | None = None
    notes: str = ""
    source: Source = Source.ONLINE
    # The IMS safety screening, question key -> answer; given means consent was given too,
    # online by the patient or (staff only) verbally on the phone. A first needling visit
    # needs it on every path; only staff may book it `screening_pending` (see `screening`).
    screening: dict[str, bool] | None = None
    screening_consent: Consent = Consent.ONLINE
    screening_pending: bool = False
    # Reception only, each with a recorded reason: book inside the minimum notice, a
    # follow-up without an assessment on record (seen elsewhere, say), a needling visit
    # closer to another than the clinic's spacing, or a follow-up when the clinic's rule
    # asks for a re-assessment.
    skip_notice: bool = False
    skip_prerequisite: bool = False
    skip_spacing: bool = False
    skip_reassessment: bool = False
    override_reason: str = ""
    # A session of this course (set by the course service and rebooking, never by a form).
    course_id: int | None = None

    def fingerprint(self) -> str:
        """Return a digest that tells a retried request from a different one."""
        data = asdict(self) | {
            "start": self.start.timestamp(),
            "source": self.source.value,
            "screening_consent": self.screening_consent.value,
        }
        if self.patient is not None:
            data["patient"]["email"] = email_key(self.patient.email)
            born = self.patient.date_of_birth
            data["patient"]["date_of_birth"] = born.isoformat() if born else None
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Visit:
    """A booked appointment's row as the booking wrote it: values, no relationships.

    Names follow `Appointment`'s columns, so a caller reads either alike; the service,
    therapist and patient are ids (the catalog has the first two). To change the
    appointment, load it by id.
    """

    id: int
    reference: str
    therapist_id: int
    service_id: int
    patient_id: int
    start_at: datetime
    end_at: datetime
    occupied_until: datetime
    status: str
    source: str
    calendar_uid: str
    sequence: int
    manage_token_hash: str
    notes: str
    cancel_reason: str
    created_at: datetime
    updated_at: datetime
    arrived_at: datetime | None = None
    course_id: int | None = None

    @classmethod
    def of(cls, appointment: Appointment) -> Visit:
        return cls(**{name: getattr(appointment, name) for name in _VISIT_FIELDS})

    def snapshot(self) -> dict[str, Any]:
        """The audited fields, as `Appointment.snapshot` gives them."""
        return {
            "therapist_id": self.therapist_id,
            "service_id": self.service_id,
            "patient_id": self.patient_id,
            "start_at": self.start_at.isoformat(),
            "end_at": self.end_at.isoformat(),
            "status": self.status,
            "sequence": self.sequence,
        }


_VISIT_FIELDS = tuple(f.name for f in fields(Visit))


@dataclass(frozen=True, slots=True)
class Booked:
    appointment: Visit
    manage_token: str
    replayed: bool = False  # an Idempotency-Key's earlier result, answered again
