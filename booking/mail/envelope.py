"""What every email the clinic sends shares: its sender and its headers, from structured values."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr

from flask import current_app

from booking.calendar.ics import Person
from booking.mail import headers
from booking.services.catalog import ClinicInfo


class CannotCompose(Exception):
    """The message cannot be written (no sender address): retrying will not help."""


@dataclass(frozen=True, slots=True)
class Outgoing:
    sender: str  # the envelope sender: the clinic's scheduling address
    recipient: str
    data: bytes  # the whole message, CRLF line ends


def sender(clinic: ClinicInfo) -> Person:
    """The clinic's scheduling address: MAIL_DEFAULT_SENDER, or else the clinic's email."""
    name, address = parseaddr(current_app.config.get("MAIL_DEFAULT_SENDER") or "")
    address = address or clinic.email
    if not address:
        raise CannotCompose("No sender address: set MAIL_DEFAULT_SENDER or the clinic's email.")
    return Person(name or clinic.name, address)


def envelope(
    subject: str, organizer: Person, to: Person, clinic: ClinicInfo, *, message_id: str,
    now: datetime,
) -> EmailMessage:  # fmt: skip
    """A new email with its headers set; names and addresses kept apart, never parsed."""
    email = EmailMessage(policy=headers.POLICY)
    try:
        email["Subject"] = headers.text("Subject", subject)
        email["From"] = headers.mailbox("From", organizer.name, organizer.email)
        email["To"] = headers.mailbox("To", to.name, to.email)
        if clinic.email and clinic.email != organizer.email:
            email["Reply-To"] = headers.mailbox("Reply-To", clinic.name, clinic.email)
    except headers.Unencodable as exc:
        raise CannotCompose("An address of this message cannot be written.") from exc
    email["Date"] = format_datetime(now)
    email["Message-ID"] = message_id
    email["Auto-Submitted"] = "auto-generated"
    return email
