"""One appointment as iCalendar (RFC 5545): the same UID and SEQUENCE as its invites.

Times are written in UTC, which every calendar client converts to its viewer's zone; the
file carries the service, the place and how to prepare, never the patient's details.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

from icalendar import Alarm, Calendar, Event, vCalAddress, vText

from booking.models import Appointment, Clinic, Service, Status, Therapist

PRODID = "-//booking//IMS clinic booking//EN"
GOOGLE_TEMPLATE = "https://calendar.google.com/calendar/render"
REMINDER_BEFORE = timedelta(hours=2)


def summary(service: Service, therapist: Therapist, clinic: Clinic) -> str:
    return f"{service.name} with {therapist.name} at {clinic.name}"


def description(service: Service, clinic: Clinic, manage_url: str | None) -> str:
    parts = []
    if service.preparation:
        parts.append(f"How to prepare: {service.preparation}")
    if manage_url:
        parts.append(f"To reschedule or cancel: {manage_url}")
    if clinic.phone:
        parts.append(f"Questions: call {clinic.name} on {clinic.phone}.")
    return "\n\n".join(parts)


def appointment_calendar(
    appointment: Appointment,
    *,
    service: Service,
    therapist: Therapist,
    clinic: Clinic,
    now: datetime,
    method: str = "PUBLISH",
    manage_url: str | None = None,
) -> bytes:
    """Return the appointment as an iCalendar object, CRLF-terminated and folded."""
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("method", method)
    event = Event()
    event.add("uid", appointment.calendar_uid)
    event.add("sequence", appointment.sequence)
    event.add("dtstamp", now)
    event.add("dtstart", appointment.start_at)
    event.add("dtend", appointment.end_at)
    event.add("summary", summary(service, therapist, clinic))
    if clinic.address:
        event.add("location", clinic.address)
    event.add("description", description(service, clinic, manage_url))
    cancelled = appointment.status == Status.CANCELLED
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    event.add("transp", "OPAQUE")
    if clinic.email:
        organizer = vCalAddress(f"mailto:{clinic.email}")
        organizer.params["cn"] = vText(clinic.name)
        event.add("organizer", organizer)
    if not cancelled:
        alarm = Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("description", summary(service, therapist, clinic))
        alarm.add("trigger", -REMINDER_BEFORE)
        event.add_component(alarm)
    calendar.add_component(event)
    return calendar.to_ical()


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
