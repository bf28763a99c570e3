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


def patient(n: int = 1) -> dict[str, str]:
    return {"name": f"Pat Ient{n}", "email": f"patient{n}@example.com", "phone": "604-555-0199"}


# The IMS safety screening with every answer "no": as the booking service takes it, and as
# the API's `screening` object (with consent).
ANSWERS = dict.fromkeys(KEYS, False)
API_SCREENING = {**ANSWERS, "consent": True}
FIRST_NEEDLING = ("assessment", "ims-initial-assessment")  # the test and demo clinics' slugs


def screening_for(service: str) -> dict[str, bool] | None:
    """The answers a booking of `service` needs (a first needling visit), else None."""
    return dict(ANSWERS) if service in FIRST_NEEDLING else None
