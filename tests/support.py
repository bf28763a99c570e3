"""Constants and small helpers shared by the tests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from booking.models.screening import KEYS

VANCOUVER = ZoneInfo("America/Vancouver")
# Monday 1 March 2027, 08:00 in Vancouver (PST): the frozen "now" of every test.
NOW = datetime(2027, 3, 1, 16, 0, tzinfo=UTC)
MONDAY = date(2027, 3, 1)


@dataclass
class Clock:
    """A settable clock handed to the app as its `CLOCK`."""

    now: datetime = NOW

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def local(day: date, hour: int, minute: int = 0) -> datetime:
    """Return the instant of a wall-clock time in Vancouver."""
    return datetime.combine(day, time(hour, minute), tzinfo=VANCOUVER)


BORN = date(1980, 5, 17)  # every test patient's date of birth, unless a test says otherwise


def patient(n: int = 1, **given: str) -> dict[str, str]:
    """A new patient as the API takes them (and the site's form fields, but for the date)."""
    return {
        "name": f"Pat Ient{n}",
        "email": f"patient{n}@example.com",
        "phone": "604-555-0199",
        "date_of_birth": BORN.isoformat(),
    } | given


def details(n: int = 1, **given: object):  # -> PatientDetails; imported late, see below
    """A new patient as the booking service takes them."""
    from booking.services.booking import PatientDetails

    fields: dict[str, object] = {**patient(n), "date_of_birth": BORN} | given
    return PatientDetails(**fields)  # type: ignore[arg-type]


def person(name: str, email: str, *, born: date | None = BORN, phone: str = ""):
    """A person on record (an ORM row) with a contact of their own, for `world.add`."""
    from booking.models import Contact, Patient, email_key, normalize_email

    contact = Contact(email=normalize_email(email), email_key=email_key(email))
    return Patient(name=name, date_of_birth=born, phone=phone, contact=contact)


# The IMS safety screening with every answer "no": as the booking service takes it, and as
# the API's `screening` object (with consent).
ANSWERS = dict.fromkeys(KEYS, False)
API_SCREENING = {**ANSWERS, "consent": True}
FIRST_NEEDLING = ("assessment", "ims-initial-assessment")  # the test and demo clinics' slugs


def screening_for(service: str) -> dict[str, bool] | None:
    """The answers a booking of `service` needs (a first needling visit), else None."""
    return dict(ANSWERS) if service in FIRST_NEEDLING else None
