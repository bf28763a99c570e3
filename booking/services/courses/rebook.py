"""Book the suggested next visit with one confirm, from a visit's private link.

The manage link proves the household (as it opens My visits), so the visit is booked for the
link's person, as a verified returning patient: every rule of the booking service holds
(screening, spacing, re-assessment), and its refusal is the answer. A double submit books
once: the request's own Idempotency key (the visit, its sequence and the time) replays it.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from flask import current_app

from booking.extensions import db
from booking.models import Appointment, IdempotencyKey, Source
from booking.services import booking, tokens
from booking.services import catalog as catalogs
from booking.services.availability import slot_at
from booking.services.booking import Booked, BookingRequest
from booking.services.courses.next_visit import Suggestion, coming_visit, free_times, suggest

__all__ = ["NothingToBook", "at", "book_next", "coming_visit", "offer"]
from booking.services.errors import BookingError, NotFound, Stale


class NothingToBook(BookingError):
    """No next visit is offered any more (one got booked, or the course is full)."""

    code = "nothing_to_book"


def offer(appointment: Appointment, *, now: datetime, count: int = 1) -> Suggestion | None:
    """The next visit this visit's page offers its person, or None."""
    return suggest(catalogs.current(), appointment.patient_id, now=now, count=count)


def at(
    appointment: Appointment, start: datetime, *, now: datetime, count: int = 5
) -> tuple[Suggestion | None, bool, tuple[datetime, ...]]:
    """The offer, whether `start` is free for it, and else the free times nearest `start`.

    What an emailed time's link opens: the time may have been taken since it was sent.
    """
    found = offer(appointment, now=now)
    if found is None:
        return None, False, ()
    catalog = catalogs.current()
    if slot_at(catalog, found.service, start, now=now, therapists=[found.therapist]):
        return found, True, ()
    return (
        found,
        False,
        free_times(catalog, found.service, found.therapist, start, now=now, count=count),
    )


def book_next(
    appointment_id: int,
    start: datetime,
    *,
    expected_sequence: int,
    now: datetime,
    source: Source = Source.ONLINE,
    actor: str = "patient",
) -> Booked:
    """Book the next visit of the person of `appointment_id` at `start`, or raise why not."""
    appointment = db.session.get(Appointment, appointment_id)
    if appointment is None:
        raise NotFound("No such appointment.")
    if appointment.sequence != expected_sequence:
        raise Stale("This visit changed after the page was shown: here is the next visit now.")
    key = _key(appointment, start)
    replay = db.session.get(IdempotencyKey, key) is not None  # a double submit: book replays
    found = offer(appointment, now=now)
    if found is None and not replay:
        coming = coming_visit(appointment.patient_id, now)
        if coming is not None:
            raise NothingToBook("Your next visit is already booked.", start=coming)
        raise NothingToBook("There is no next visit to book online from here.")
    if found is None:  # the replay finds the visit it booked, whatever the offer is now
        assert replay
        return _replayed(key)
    request = BookingRequest(
        service=found.service.slug,
        start=start,
        person_id=found.person_id,
        contact_id=found.contact_id,
        course_id=found.course_id,
        therapist_id=found.therapist.id,
        source=source,
    )
    return booking.book(request, now=now, actor=actor, idempotency_key=key)


def _key(appointment: Appointment, start: datetime) -> str:
    raw = f"{appointment.calendar_uid}|{appointment.sequence}|{start.timestamp():.0f}"
    return "rebook-" + hashlib.sha256(raw.encode()).hexdigest()


def _replayed(key: str) -> Booked:
    record = db.session.get_one(IdempotencyKey, key)
    visit = db.session.get_one(Appointment, record.appointment_id)
    token = tokens.manage_token(str(current_app.config["SECRET_KEY"]), visit.calendar_uid)
    return Booked(booking.Visit.of(visit), token, replayed=True)
