"""The summary email of a booked course: every visit, as the course stands when it is sent.

Text and HTML only: each visit's invite is its own message, so a calendar holds one event per
visit with its own UID, updated or removed on its own.
"""

from __future__ import annotations

from datetime import datetime

from flask import current_app, render_template
from sqlalchemy import select

from booking.calendar.ics import Person
from booking.dates import Style
from booking.extensions import db
from booking.links import external_url
from booking.mail import headers
from booking.mail.envelope import CannotCompose, Outgoing, envelope, sender
from booking.models import Appointment, Course, OutboxMessage, Patient, Status
from booking.services import catalog as catalogs
from booking.services import tokens


def course_email(message: OutboxMessage, *, now: datetime) -> Outgoing:
    """Render a course's summary: its booked visits in order, each with its own link."""
    first = db.session.get(Appointment, message.appointment_id) if message.appointment_id else None
    course = db.session.get(Course, first.course_id) if first and first.course_id else None
    if first is None or course is None:
        raise CannotCompose("The course of this message is gone.")
    catalog = catalogs.current()
    clinic = catalog.clinic
    style = Style.of(clinic)
    patient = db.session.get_one(Patient, course.patient_id)
    booked = db.session.scalars(
        select(Appointment)
        .where(Appointment.course_id == course.id, Appointment.status == Status.BOOKED.value)
        .order_by(Appointment.start_at)
    ).all()
    secret = str(current_app.config["SECRET_KEY"])
    visits = [
        {
            "when": style.when(visit.start_at, clinic.zone),
            "therapist": catalog.therapist(visit.therapist_id).name,
            "manage_url": external_url(
                "manage.show", token=tokens.manage_token(secret, visit.calendar_uid)
            ),
        }
        for visit in booked
        if visit.start_at > now
    ]
    if not visits:
        raise CannotCompose("No visit of this course is still ahead.")
    service = catalog.services[course.service_id]
    context = {
        "clinic": clinic,
        "to_name": message.to_name,
        "patient_name": patient.name,
        "for_someone_else": patient.name != message.to_name,
        "service": service,
        "sessions": course.sessions,
        "visits": visits,
    }
    organizer = sender(clinic)
    email = envelope(
        f"Your course: {len(visits)} visits booked, first {visits[0]['when']}",
        organizer,
        Person(message.to_name, message.to_address),
        clinic,
        message_id=message.message_id,
        now=now,
    )
    email.set_content(render_template("email/course_booked.txt", **context))
    email.add_alternative(render_template("email/course_booked.html", **context), subtype="html")
    return Outgoing(organizer.email, message.to_address, email.as_bytes(policy=headers.POLICY))
