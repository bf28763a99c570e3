"""Check the shape of API input; every problem is reported against its field."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from email_validator import EmailNotValidError

from booking.models.screening import KEYS
from booking.services.booking import BookingRequest, PatientDetails
from booking.services.errors import InvalidRequest
from booking.services.validation import (
    calendar_date,
    mail_address,
    name_problem,
    phone_number,
    storable,
)

MAX_ID = 2**31 - 1
IDEMPOTENCY_KEY = re.compile(r"[\x21-\x7e]{1,255}")


class Fields:
    """Collects per-field errors so a client hears about every problem at once."""

    def __init__(self, data: Any, prefix: str = "") -> None:
        self.data = data if isinstance(data, dict) else {}
        self.prefix = prefix
        self.errors: dict[str, str] = {}

    def fail(self, name: str, message: str) -> None:
        self.errors.setdefault(self.prefix + name, message)

    def text(self, name: str, *, limit: int, required: bool = True) -> str:
        value = self.data.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                self.fail(name, "This field is required.")
            return ""
        if not isinstance(value, str):
            self.fail(name, "Must be a string.")
            return ""
        if len(value) > limit:
            self.fail(name, f"Must be at most {limit} characters.")
        elif not storable(value):
            self.fail(name, "Contains characters that are not allowed.")
        return value.strip()

    def identifier(self, name: str, *, required: bool = True) -> int | None:
        value = self.data.get(name)
        if value is None:
            if required:
                self.fail(name, "This field is required.")
            return None
        if isinstance(value, str) and value.isascii() and value.isdigit():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_ID:
            self.fail(name, "Must be a positive whole number.")
            return None
        return value

    def instant(self, name: str) -> datetime | None:
        raw = self.text(name, limit=40)
        if not raw:
            return None
        try:
            value = datetime.fromisoformat(raw)
        except ValueError:
            self.fail(name, "Must be an ISO 8601 date and time, such as 2027-03-09T09:30:00-08:00.")
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            self.fail(name, "Must include a UTC offset, such as -08:00 or Z.")
            return None
        if not 2000 <= value.year <= 2200:
            self.fail(name, "Must be a date between the years 2000 and 2200.")
            return None
        return value

    def email(self, name: str) -> str:
        raw = self.text(name, limit=254)
        if not raw:
            return ""
        try:
            return mail_address(raw)
        except EmailNotValidError:
            self.fail(name, "Must be a valid email address.")
            return ""

    def phone(self, name: str) -> str:
        raw = self.text(name, limit=40)
        if not raw:
            return raw
        number = phone_number(raw)
        if number is None:
            self.fail(name, "Must be a phone number, such as 604-555-0123.")
            return raw
        return number

    def done(self) -> None:
        if self.errors:
            raise InvalidRequest(self.errors)


def day(raw: str | None, name: str, fields: Fields) -> date | None:
    """Parse a YYYY-MM-DD query parameter."""
    if raw is None or raw == "":
        return None
    value = calendar_date(raw)
    if value is None:
        fields.fail(name, "Must be a date written YYYY-MM-DD.")
    return value


def booking_request(data: Any) -> BookingRequest:
    """Return the booking that a POST body asks for, or raise `InvalidRequest`."""
    if not isinstance(data, dict):
        raise InvalidRequest({"body": "Must be a JSON object."})
    fields = Fields(data)
    service = fields.text("service", limit=60)
    therapist_id = fields.identifier("therapist_id", required=False)
    start = fields.instant("start")
    notes = fields.text("notes", limit=2000, required=False)
    person = Fields(data.get("patient"), prefix="patient.")
    name = person.text("name", limit=120)
    if name and (problem := name_problem(name)):
        person.fail("name", problem)
    email = person.email("email")
    phone = person.phone("phone")
    if "patient" in data and not isinstance(data["patient"], dict):
        fields.fail("patient", "Must be an object with name, email and phone.")
    else:
        fields.errors.update(person.errors)
    answers = screening(data.get("screening"), fields)
    fields.done()
    assert start is not None
    return BookingRequest(
        service=service,
        start=start,
        patient=PatientDetails(name=name, email=email, phone=phone),
        therapist_id=therapist_id,
        notes=notes,
        screening=answers,
    )


def screening(raw: Any, fields: Fields) -> dict[str, bool] | None:
    """The IMS safety screening: every question's answer as a boolean, and `consent: true`."""
    if raw is None:
        return None  # the booking service says whether the service needs it
    if not isinstance(raw, dict):
        fields.fail("screening", "Must be an object with each question's answer and consent.")
        return None
    for key in sorted(set(raw) - {*KEYS, "consent"}):
        fields.fail(f"screening.{key}", "Is not one of the screening questions.")
    for key in KEYS:
        if not isinstance(raw.get(key), bool):
            fields.fail(f"screening.{key}", "Must be true or false.")
    if raw.get("consent") is not True:
        fields.fail("screening.consent", "Must be true: the patient consents to IMS.")
    return {key: raw.get(key) is True for key in KEYS}


def idempotency_key(raw: str | None) -> str | None:
    """Return a valid Idempotency-Key header value, or raise `InvalidRequest`."""
    if raw is None:
        return None
    if not IDEMPOTENCY_KEY.fullmatch(raw):
        raise InvalidRequest({"Idempotency-Key": "Must be 1 to 255 visible ASCII characters."})
    return raw
