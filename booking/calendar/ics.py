"""Appointments as iCalendar (RFC 5545) for invites (RFC 5546), downloads and feeds.

Every copy of an appointment, in whichever calendar, carries its stored UID and SEQUENCE, so
clients update one event instead of adding another. Times are UTC, which every client shows
in its viewer's zone, so no VTIMEZONE is needed and daylight-saving changes cannot shift
them. `icalendar` writes the bytes: CRLF line ends, folding at 75 octets, TEXT escaping.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol
from urllib.parse import urlencode

from icalendar import Alarm, Calendar, Event, vCalAddress, vDuration, vText

PRODID = "-//booking//IMS clinic booking//EN"
GOOGLE_TEMPLATE = "https://calendar.google.com/calendar/render"
REMINDER_BEFORE = timedelta(hours=2)
FEED_REFRESH = timedelta(minutes=15)


# What the calendar reads of an appointment, service, therapist and clinic: the ORM rows and
# the catalog's frozen values alike.
class Appointment(Protocol):
    @property
    def calendar_uid(self) -> str: ...
    @property
    def sequence(self) -> int: ...
    @property
    def start_at(self) -> datetime: ...
    @property
    def end_at(self) -> datetime: ...


class Service(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def preparation(self) -> str: ...


class Therapist(Protocol):
    @property
    def name(self) -> str: ...


class Clinic(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def phone(self) -> str: ...
    @property
    def address(self) -> str: ...


@dataclass(frozen=True, slots=True)
class Person:
    name: str
    email: str


@dataclass(frozen=True, slots=True)
class Visit:
    """One appointment as a calendar shows it at one moment of its life."""

    uid: str
    sequence: int
    start: datetime
    end: datetime
    summary: str
    description: str
    location: str
    cancelled: bool = False


def summary(service: Service, therapist: Therapist, clinic: Clinic) -> str:
    return f"{service.name} with {therapist.name} at {clinic.name}"


def description(
    service: Service, clinic: Clinic, manage_url: str | None, change_until: str | None = None
) -> str:
    parts = []
    if service.preparation:
        parts.append(f"How to prepare: {service.preparation}")
    if manage_url:
        until = f" (online until {change_until})" if change_until else ""
        parts.append(f"To reschedule or cancel{until}: {manage_url}")
    if clinic.phone:
        parts.append(f"Questions: call {clinic.name} on {clinic.phone}.")
    return "\n\n".join(parts)


def patient_visit(
    appointment: Appointment,
    *,
    service: Service,
    therapist: Therapist,
    clinic: Clinic,
    manage_url: str | None,
    start: datetime | None = None,
    end: datetime | None = None,
    sequence: int | None = None,
    cancelled: bool = False,
    change_until: str | None = None,
) -> Visit:
    """The patient's copy: service, therapist, place, how to prepare and the manage link."""
    return Visit(
        uid=appointment.calendar_uid,
        sequence=appointment.sequence if sequence is None else sequence,
        start=appointment.start_at if start is None else start,
        end=appointment.end_at if end is None else end,
        summary=summary(service, therapist, clinic),
        description=description(service, clinic, manage_url, change_until),
        location=clinic.address,
        cancelled=cancelled,
    )


def invite(
    visit: Visit, *, method: str, now: datetime, organizer: Person, attendee: Person
) -> bytes:
    """Return an iTIP REQUEST or CANCEL for one attendee (RFC 5546 section 3.2)."""
    if method not in ("REQUEST", "CANCEL"):
        raise ValueError(f"unsupported iTIP method {method!r}")
    event = _event(visit, now, cancelled=visit.cancelled or method == "CANCEL")
    event.add("organizer", _address(organizer))
    guest = _address(attendee)
    guest.params["role"] = vText("REQ-PARTICIPANT")
    guest.params["partstat"] = vText("NEEDS-ACTION")
    guest.params["rsvp"] = vText("TRUE")
    event.add("attendee", guest)
    if method == "REQUEST":
        _add_alarm(event, visit)
    return _serialized(_calendar([event], method=method))


def download(visit: Visit, *, now: datetime, organizer: Person | None) -> bytes:
    """Return the file offered on the patient's pages: METHOD:PUBLISH, the invites' UID."""
    event = _event(visit, now, cancelled=visit.cancelled)
    if organizer is not None:
        event.add("organizer", _address(organizer))
    if not visit.cancelled:
        _add_alarm(event, visit)
    return _serialized(_calendar([event], method="PUBLISH"))


def feed(visits: Iterable[Visit], *, name: str, now: datetime) -> bytes:
    """Return a subscription calendar (Apple Calendar, Google Calendar, Outlook)."""
    calendar = _calendar([_event(v, now, cancelled=v.cancelled) for v in visits], "PUBLISH")
    # Feeds, unlike invites, name themselves and say how often to look for changes.
    calendar.add("x-wr-calname", name)
    calendar.add("refresh-interval", FEED_REFRESH, parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", vDuration(FEED_REFRESH))
    return _serialized(calendar)


def _serialized(calendar: Calendar) -> bytes:
    ical: bytes = calendar.to_ical()  # icalendar leaves the return of to_ical unannotated
    return ical


def _calendar(events: list[Event], method: str) -> Calendar:
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", method)
    for event in events:
        calendar.add_component(event)
    return calendar


def _event(visit: Visit, now: datetime, *, cancelled: bool) -> Event:
    event = Event()
    event.add("uid", visit.uid)
    event.add("sequence", visit.sequence)
    event.add("dtstamp", now.astimezone(UTC))
    event.add("dtstart", visit.start.astimezone(UTC))
    event.add("dtend", visit.end.astimezone(UTC))
    event.add("summary", visit.summary)
    if visit.location:
        event.add("location", visit.location)
    if visit.description:
        event.add("description", visit.description)
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    event.add("transp", "TRANSPARENT" if cancelled else "OPAQUE")
    return event


def _add_alarm(event: Event, visit: Visit) -> None:
    alarm = Alarm()  # after the event's own properties, as Outlook expects
    alarm.add("action", "DISPLAY")
    alarm.add("description", visit.summary)
    alarm.add("trigger", -REMINDER_BEFORE)
    event.add_component(alarm)


def _address(person: Person) -> vCalAddress:
    address = vCalAddress(f"mailto:{person.email}")
    address.params["cn"] = vText(person.name)
    return address


def google_calendar_url(
    appointment: Appointment, *, service: Service, therapist: Therapist, clinic: Clinic
) -> str:
    """Return a Google Calendar "add event" link; it carries no manage link and no patient."""
    stamp = "%Y%m%dT%H%M%SZ"
    params = {
        "action": "TEMPLATE",
        "text": summary(service, therapist, clinic),
        "dates": f"{appointment.start_at.astimezone(UTC):{stamp}}/"
        f"{appointment.end_at.astimezone(UTC):{stamp}}",
        "details": description(service, clinic, None),
        "location": clinic.address,
    }
    return f"{GOOGLE_TEMPLATE}?{urlencode(params)}"
