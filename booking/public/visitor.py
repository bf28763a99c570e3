"""Who the browser proved to be: a contact verified by an emailed link, kept in the session.

Flask's session is a cookie signed with SECRET_KEY, so its content cannot be forged; it holds
only ids and a time. A verification lasts `VERIFIED_FOR` from the moment the link (or a
manage link) was opened, and is not extended by use: after that, My visits asks for a new
link. `booking_for` is the person of that household a booking is for (My visits' "Book a
follow-up for ..."); it means nothing without a live verification.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import session

from booking.services import access
from booking.services.access import Household, PersonInfo

VERIFIED_FOR = timedelta(minutes=30)
_VERIFIED = "my_visits"
_FOR = "booking_for"


def verify(contact_id: int, now: datetime) -> None:
    """Remember that this browser proved it reads `contact_id`'s email, until `VERIFIED_FOR`."""
    session.pop(_FOR, None)
    session[_VERIFIED] = {"contact": contact_id, "until": (now + VERIFIED_FOR).timestamp()}


def forget() -> None:
    session.pop(_VERIFIED, None)
    session.pop(_FOR, None)


def contact(now: datetime) -> int | None:
    """The verified contact's id, or None (never verified, or the 30 minutes are over)."""
    data = session.get(_VERIFIED)
    if not isinstance(data, dict):
        return None
    contact_id, until = data.get("contact"), data.get("until")
    if not isinstance(contact_id, int) or not isinstance(until, int | float):
        return None
    if now.timestamp() >= until:
        forget()
        return None
    return contact_id


def household(now: datetime) -> Household | None:
    """The verified household, read now; None (and forgotten) if unverified or gone."""
    contact_id = contact(now)
    if contact_id is None:
        return None
    found = access.household(contact_id, now=now)
    if found is None:  # the contact was merged away or removed since
        forget()
    return found


def book_for(person_id: int) -> None:
    session[_FOR] = person_id


def stop_booking_for() -> None:
    session.pop(_FOR, None)


@dataclass(frozen=True, slots=True)
class Fixed:
    """The person a booking is for, from My visits, and the household that proved it."""

    contact_id: int
    person: PersonInfo


def fixed(now: datetime) -> Fixed | None:
    """The person My visits fixed for this booking, if still verified and in the household."""
    person_id = session.get(_FOR)
    if not isinstance(person_id, int):
        return None
    found = household(now)
    person = found.person(person_id) if found else None
    if found is None or person is None:
        session.pop(_FOR, None)
        return None
    return Fixed(found.contact_id, person)


def called(person: PersonInfo) -> str:
    """What to call a person on the pages: their preferred name if they gave one."""
    return person.preferred_name or person.name


def born_text(person: PersonInfo) -> str:
    """A date of birth as the pages show it: "May 17, 1980"."""
    day = person.date_of_birth
    return "" if day is None else f"{day:%B} {day.day}, {day.year}"
