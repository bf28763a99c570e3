"""The emails that ask a patient to book their next visit: `book_next` and `next_times`.

`book_next` follows a session completed with nothing booked after it; `next_times` is
reception's nudge to a course that lapsed (the drop-off list). Both are about the person's
last held visit, carry no invite, and choose their times as they are sent: each time's link
opens the visit's page on that time, where one tap books it (a link never books by itself,
so a mail scanner that follows links books nothing).
"""

from __future__ import annotations

from datetime import datetime

from flask import current_app, render_template

from booking.calendar.ics import Person
from booking.dates import Style, format_start
from booking.extensions import db
from booking.links import external_url
from booking.mail import headers
from booking.mail.envelope import CannotCompose, Outgoing, envelope, sender
from booking.models import Appointment, Event, OutboxMessage
from booking.services import catalog as catalogs
from booking.services import tokens
from booking.services.courses.next_visit import TIMES, suggest

SUBJECTS = {
    Event.BOOK_NEXT.value: "Book your next visit: {service}",
    Event.NEXT_TIMES.value: "Your next times: {service}",
}


def next_visit_email(message: OutboxMessage, *, now: datetime) -> Outgoing:
    """Render "book your next visit" or "next times", with times as they are free now."""
    appointment = (
        db.session.get(Appointment, message.appointment_id) if message.appointment_id else None
    )
    if appointment is None:
        raise CannotCompose("The message is about no appointment.")
    catalog = catalogs.current()
    clinic = catalog.clinic
    token = tokens.manage_token(current_app.config["SECRET_KEY"], appointment.calendar_uid)
    if tokens.hash_token(token) != appointment.manage_token_hash:
        raise CannotCompose("This visit's private link cannot be written again.")
    count = TIMES if message.event == Event.NEXT_TIMES else 1
    found = suggest(catalog, appointment.patient_id, now=now, count=count)
    service = found.service if found else catalog.services[appointment.service_id]
    style = Style.of(clinic)
    times = [
        (style.when(start, clinic.zone),
         external_url("manage.book_next", token=token, start=format_start(start)))
        for start in (found.times if found else ())
    ]  # fmt: skip
    context = {
        "event": message.event,
        "clinic": clinic,
        "to_name": message.to_name,
        "service": service,
        "therapist": found.therapist if found else catalog.therapist(appointment.therapist_id),
        "times": times,
        "manage_url": external_url("manage.show", token=token),
        "book_url": external_url("public.services"),
    }
    organizer = sender(clinic)
    email = envelope(
        SUBJECTS[message.event].format(service=service.name),
        organizer,
        Person(message.to_name, message.to_address),
        clinic,
        message_id=message.message_id,
        now=now,
    )
    email.set_content(render_template("email/next_visit.txt", **context))
    email.add_alternative(render_template("email/next_visit.html", **context), subtype="html")
    return Outgoing(organizer.email, message.to_address, email.as_bytes(policy=headers.POLICY))
