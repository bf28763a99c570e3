"""Domain errors: what a service refuses, and why, in words a patient can read."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


class BookingError(Exception):
    """A refusal; `code` is stable for clients, `message` is for people."""

    code = "booking_error"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class NotFound(BookingError):
    code = "not_found"


class InvalidRequest(BookingError):
    """Input that names things that do not exist or cannot be used; `fields` says which."""

    code = "invalid_request"

    def __init__(
        self, fields: Mapping[str, str], message: str = "Some fields are not valid."
    ) -> None:
        super().__init__(message, fields=dict(fields))
        self.fields = dict(fields)


class SlotUnavailable(BookingError):
    code = "slot_unavailable"

    def __init__(self, message: str = "That time is no longer available.") -> None:
        super().__init__(message)
        self.alternatives: Sequence[Any] = ()


class TooSoon(SlotUnavailable):
    """A needling visit too close to another of the same person (the clinic's spacing).

    A kind of `SlotUnavailable`: the time is free, but not for this person, and every edge
    that offers the nearest times for a refused time offers them here too (the booking
    service fills `alternatives` with times that keep the spacing). `patient_id` is the
    person those were chosen for; it stays out of `details`, which the API shows.
    """

    code = "too_soon"

    def __init__(self, message: str, *, patient_id: int, index: int = 0) -> None:
        super().__init__(message)
        self.patient_id = patient_id
        self.index = index  # which of several starts checked together (a course's visits)


class AssessmentRequired(BookingError):
    code = "assessment_required"


class ReassessmentRequired(BookingError):
    """A follow-up when the clinic's rule says the next visit is a re-assessment.

    `required_service` in `details` is the re-assessment's slug, as `AssessmentRequired`
    names the assessment's, so the site and API clients can switch to it.
    """

    code = "reassessment_required"

    def __init__(self, message: str, *, required_service: str, index: int = 0) -> None:
        super().__init__(message, required_service=required_service)
        self.index = index  # which of several visits checked together (a course's)


class VerificationRequired(BookingError):
    """A return visit online needs a person verified by an emailed link (My visits).

    Raised before anything is looked up, so it says nothing about whether an email is on
    record: the site and the API answer every unverified follow-up the same way.
    """

    code = "verification_required"


class TherapistNotOffering(BookingError):
    code = "therapist_not_offering"


class InsideCutoff(BookingError):
    code = "inside_cutoff"


class NotChangeable(BookingError):
    """The appointment is cancelled or over, so it can no longer be moved or cancelled."""

    code = "not_changeable"


class IdempotencyKeyReused(BookingError):
    code = "idempotency_key_reused"


class Stale(BookingError):
    """The appointment changed after the page that asks to change it was shown."""

    code = "stale"
