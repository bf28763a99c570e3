"""One outbox row as an email that Gmail, Outlook, Apple Mail and Thunderbird show as an invite.

The MIME layout follows iMIP (RFC 6047) and ../shared/INVITES.md:

    multipart/mixed
      multipart/alternative
        text/plain
        text/html
        text/calendar; method=REQUEST; charset=UTF-8   (inline)
      application/ics; name="invite.ics"               (the same bytes, as an attachment)

The calendar goes in as bytes (base64), so its CRLF line ends arrive untouched, and the
whole message is serialized with CRLF everywhere. Headers that carry names are written by
`booking.mail.headers` from the name and address kept apart, never parsed. Reminders are text
and HTML only: the invite already in the calendar stays the one event.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import current_app, render_template

from booking.calendar import ics
from booking.calendar.ics import Person
from booking.dates import Style
from booking.extensions import db
from booking.links import external_url
from booking.mail import headers
from booking.mail.access import access_email
from booking.mail.course import course_email
from booking.mail.envelope import CannotCompose, Outgoing, envelope, sender
from booking.mail.next_visit import next_visit_email
from booking.models import Appointment, Event, Method, OutboxMessage, Patient, Recipient
from booking.services import catalog as catalogs
from booking.services import changes, tokens
from booking.services import screening as screenings
from booking.services.catalog import ClinicInfo, ServiceInfo, TherapistInfo

# Short enough for a phone's inbox; the body has the full date and the zone.
SUBJECTS = {
    (Recipient.PATIENT, Event.BOOKED): "Booked: {service}, {when}",
    (Recipient.PATIENT, Event.RESCHEDULED): "Moved: {service}, now {when}",
    (Recipient.PATIENT, Event.CANCELLED): "Cancelled: {service}, {when}",
    (Recipient.PATIENT, Event.REMINDER): "Reminder: {service}, {when}",
    (Recipient.THERAPIST, Event.BOOKED): "New: {service}, {patient}, {when}",
    (Recipient.THERAPIST, Event.RESCHEDULED): "Moved: {service}, {patient}, now {when}",
    (Recipient.THERAPIST, Event.CANCELLED): "Cancelled: {service}, {patient}, {when}",
}


@dataclass(frozen=True, slots=True)
class About:
    """The appointment as an outbox row recorded it (every appointment row has these)."""

    appointment_id: int
    therapist_id: int
    service_id: int
    start_at: datetime
    end_at: datetime
    sequence: int
    previous_start_at: datetime | None

    @classmethod
    def of(cls, message: OutboxMessage) -> About:
        values = (message.appointment_id, message.therapist_id, message.service_id,
                  message.start_at, message.end_at, message.sequence)  # fmt: skip
        if any(v is None for v in values):
            raise CannotCompose("The message is about no appointment.")
        return cls(*values, message.previous_start_at)  # type: ignore[arg-type]


def compose(message: OutboxMessage, *, now: datetime) -> Outgoing:
    """Render the row's email as it should read now, for the state the row recorded."""
    if message.event == Event.ACCESS_LINK:
        return access_email(message, now=now)
    if message.event == Event.COURSE_BOOKED:
        return course_email(message, now=now)
    if message.event in (Event.BOOK_NEXT, Event.NEXT_TIMES):
        return next_visit_email(message, now=now)
    about = About.of(message)
    catalog = catalogs.current()
    clinic = catalog.clinic
    appointment = db.session.get_one(Appointment, about.appointment_id)
    patient = db.session.get_one(Patient, appointment.patient_id)
    service = catalog.services[about.service_id]
    therapist = catalog.therapist(about.therapist_id)
    organizer = sender(clinic)
    recipient = Recipient(message.recipient)
    event = Event(message.event)
    to = Person(message.to_name, message.to_address)
    token = _manage_token(appointment) if recipient == Recipient.PATIENT else None
    manage_url = external_url("manage.show", token=token) if token else None
    # Reception left the screening for the patient: every message until it is answered asks.
    screening_url = (
        external_url("manage.screening", token=token)
        if token and event != Event.CANCELLED and screenings.pending_for(appointment.id)
        else None
    )
    zone = clinic.zone
    style = Style.of(clinic)
    short_when = style.short_when(about.start_at, zone)
    # The therapist lost this visit to a colleague (a CANCEL inside a move).
    reassigned = event == Event.RESCHEDULED and message.method == Method.CANCEL
    # Read as the message goes out: past this, the patient gets the phone, not the link.
    until = (
        changes.change_until(appointment, clinic, now) if recipient == Recipient.PATIENT else None
    )
    context: dict[str, object] = {
        "event": event.value,
        "method": message.method,
        "clinic": clinic,
        "service": service,
        "therapist": therapist,
        "patient_name": patient.name,
        "for_someone_else": patient.name != message.to_name,
        "to_name": message.to_name,
        "reference": appointment.reference,
        "when": style.when(about.start_at, zone),
        "short_when": short_when,
        "previous_when": style.when(about.previous_start_at, zone)
        if about.previous_start_at
        else None,
        "minutes": int((about.end_at - about.start_at).total_seconds() // 60),
        "manage_url": manage_url,
        "screening_url": screening_url,
        "change_until": until,
        "recipient_is_therapist": recipient == Recipient.THERAPIST,
        "book_url": external_url("public.services"),
        "reassigned": reassigned,
    }
    template = f"email/{recipient.value}"
    if event == Event.REMINDER:
        template = "email/reminder"
    email = envelope(
        _subject(recipient, event, service, patient, when=short_when, reassigned=reassigned),
        organizer,
        to,
        clinic,
        message_id=message.message_id,
        now=now,
    )
    email.set_content(render_template(f"{template}.txt", **context))
    email.add_alternative(render_template(f"{template}.html", **context), subtype="html")
    if message.method:
        calendar = _invite(message, about, appointment, service, therapist, patient, clinic, until)
        body = ics.invite(
            calendar, method=message.method, now=now, organizer=organizer, attendee=to
        )
        email.add_alternative(
            body, "text", "calendar", params={"method": message.method, "charset": "UTF-8"}
        )
        email.make_mixed()
        email.add_attachment(body, "application", "ics", filename="invite.ics")
    return Outgoing(organizer.email, message.to_address, email.as_bytes(policy=headers.POLICY))


def _subject(
    recipient: Recipient,
    event: Event,
    service: ServiceInfo,
    patient: Patient,
    *,
    when: str,
    reassigned: bool,
) -> str:
    if reassigned:
        return f"Moved to a colleague: {service.name}, {patient.name}, {when}"
    return SUBJECTS[recipient, event].format(service=service.name, when=when, patient=patient.name)


def _invite(
    message: OutboxMessage,
    about: About,
    appointment: Appointment,
    service: ServiceInfo,
    therapist: TherapistInfo,
    patient: Patient,
    clinic: ClinicInfo,
    change_until: str | None,
) -> ics.Visit:
    cancelled = message.method == Method.CANCEL
    if message.recipient == Recipient.PATIENT:
        # Past the change deadline the invite, like the email, gives the phone, not the link.
        return ics.patient_visit(
            appointment,
            service=service,
            therapist=therapist,
            clinic=clinic,
            manage_url=None if cancelled or not change_until else _manage_url(appointment),
            change_until=change_until,
            start=about.start_at,
            end=about.end_at,
            sequence=about.sequence,
            cancelled=cancelled,
        )
    # The therapist's copy: the patient's name, and nothing else about them.
    return ics.Visit(
        uid=appointment.calendar_uid,
        sequence=about.sequence,
        start=about.start_at,
        end=about.end_at,
        summary=f"{service.name}: {patient.name}",
        description=f"Reference {appointment.reference}.",
        location=clinic.address,
        cancelled=cancelled,
    )


def _manage_token(appointment: Appointment) -> str | None:
    """The patient's private token, if this appointment's token is the derived one."""
    token = tokens.manage_token(current_app.config["SECRET_KEY"], appointment.calendar_uid)
    if tokens.hash_token(token) != appointment.manage_token_hash:
        return None  # booked before tokens were derived: the old link still works
    return token


def _manage_url(appointment: Appointment) -> str | None:
    """The patient's private link, if this appointment's token is the derived one."""
    token = _manage_token(appointment)
    return None if token is None else external_url("manage.show", token=token)
