"""The email that carries a one-time "My visits" link (`services.access`)."""

from __future__ import annotations

from datetime import datetime

from flask import render_template

from booking.calendar.ics import Person
from booking.dates import Style
from booking.extensions import db
from booking.links import external_url
from booking.mail import headers
from booking.mail.envelope import CannotCompose, Outgoing, envelope, sender
from booking.models import AccessLink, OutboxMessage
from booking.services import access
from booking.services import catalog as catalogs


def access_email(message: OutboxMessage, *, now: datetime) -> Outgoing:
    """Render an access link's email: the link, until when it works, and nothing else."""
    link = db.session.get(AccessLink, message.access_link_id) if message.access_link_id else None
    if link is None:
        raise CannotCompose("The access link of this message is gone.")
    clinic = catalogs.current().clinic
    organizer = sender(clinic)
    context = {
        "clinic": clinic,
        "to_name": message.to_name,
        "link": external_url("public.my_visits_link", token=access.link_token(link)),
        "until": Style.of(clinic).when(link.expires_at, clinic.zone),
        "book_url": external_url("public.services"),
    }
    email = envelope(
        f"Your link to your visits at {clinic.name}",
        organizer,
        Person(message.to_name, message.to_address),
        clinic,
        message_id=message.message_id,
        now=now,
    )
    email.set_content(render_template("email/access_link.txt", **context))
    email.add_alternative(render_template("email/access_link.html", **context), subtype="html")
    return Outgoing(organizer.email, message.to_address, email.as_bytes(policy=headers.POLICY))
