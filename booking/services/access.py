"""Returning patients prove who they are by email, without a password.

"Been here before?" takes an email address and always answers the same way. For an address
on record it writes a one-time link (30 minutes, single use, only its hash stored) and the
email that carries it, as an outbox row in the same transaction; for any other address it
writes nothing. Opening the link verifies the contact: the site then shows My visits (the
household's people and visits), and the API hands out a short-lived patient access token.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import func, select, update

from booking.database import read_session, write_transaction
from booking.models import (
    AccessLink,
    Appointment,
    Contact,
    Patient,
    email_key,
)
from booking.services import catalog as catalogs
from booking.services import outbox, tokens
from booking.services.errors import BookingError

log = logging.getLogger(__name__)

LINK_LIFETIME = timedelta(minutes=30)
LINKS_PER_CONTACT = 3  # within one LINK_LIFETIME: more are not sent (the answer is the same)
API_TOKEN_LIFETIME = timedelta(minutes=30)
ANSWER = (
    "If we know this address, we have sent it a link to your visits. It works once, for 30 minutes."
)


class LinkInvalid(BookingError):
    """A link that is unknown, used already or too old: one answer for all three."""

    code = "link_invalid"

    def __init__(self) -> None:
        super().__init__(
            "This link has expired or was already used. Ask for a new one: it takes a minute."
        )


def request_link(email: str, *, now: datetime) -> None:
    """Email a one-time link to this address if it is a contact on record; else do nothing.

    The caller answers `ANSWER` either way. A contact that asked `LINKS_PER_CONTACT` times
    within the link's lifetime gets no more, so nobody can fill a patient's inbox.
    """
    with write_transaction() as session:
        contact = session.scalar(select(Contact).where(Contact.email_key == email_key(email)))
        if contact is None:
            return
        recent = session.scalar(
            select(func.count())
            .select_from(AccessLink)
            .where(AccessLink.contact_id == contact.id, AccessLink.created_at > now - LINK_LIFETIME)
        )
        if (recent or 0) >= LINKS_PER_CONTACT:
            log.info("access link for contact %s not sent: asked too often", contact.id)
            return
        nonce = secrets.token_hex(16)
        link = AccessLink(
            contact_id=contact.id,
            nonce=nonce,
            token_hash=tokens.hash_token(tokens.access_token(_secret(), nonce)),
            created_at=now,
            expires_at=now + LINK_LIFETIME,
        )
        session.add(link)
        session.flush()
        first = session.scalar(
            select(Patient.name).where(Patient.contact_id == contact.id).order_by(Patient.id)
        )
        domain = catalogs.mail_domain(catalogs.current())
        outbox.record_access_link(
            link.id, contact.name or first or "", contact.email, domain=domain, now=now
        )
        log.info("access link %s queued for contact %s", link.id, contact.id)


def redeem(token: str, *, now: datetime) -> int:
    """Use a one-time link: return its contact's id, or raise `LinkInvalid`."""
    with write_transaction() as session:
        used = session.execute(
            update(AccessLink)
            .where(
                AccessLink.token_hash == tokens.hash_token(token),
                AccessLink.used_at.is_(None),
                AccessLink.expires_at > now,
            )
            .values(used_at=now)
            .returning(AccessLink.id, AccessLink.contact_id)
        ).first()
        if used is None:
            raise LinkInvalid()
        log.info("access link %s used", used.id)
        return int(used.contact_id)


def link_valid(link_id: int, now: datetime) -> bool:
    """Whether a link may still be sent: not used, not expired (the worker asks)."""
    with read_session() as session:
        link = session.get(AccessLink, link_id)
        return link is not None and link.used_at is None and link.expires_at > now


def link_token(link: AccessLink) -> str:
    """The token an access link's email carries (derived, never stored)."""
    return tokens.access_token(_secret(), link.nonce)


def contact_of_manage_token(token: str) -> int | None:
    """The contact behind an appointment's manage link: it proves the same inbox."""
    with read_session() as session:
        return session.scalar(
            select(Patient.contact_id)
            .join(Appointment, Appointment.patient_id == Patient.id)
            .where(Appointment.manage_token_hash == tokens.hash_token(token))
        )


def api_token(contact_id: int, *, now: datetime) -> tuple[str, datetime]:
    """A patient access token for the API, and when it expires (signed, kept nowhere)."""
    expires = now + API_TOKEN_LIFETIME
    return _serializer().dumps({"contact": contact_id, "until": expires.timestamp()}), expires


def contact_of_api_token(token: str, *, now: datetime) -> int | None:
    """The contact a patient access token verified, or None if it is not valid now."""
    try:
        data = _serializer().loads(token)
    except BadSignature:
        return None
    if not isinstance(data, dict):
        return None
    contact, until = data.get("contact"), data.get("until")
    if not isinstance(contact, int) or not isinstance(until, int | float):
        return None
    # The app's clock, not the signature's: it is the one the rest of the booking reads.
    return contact if now.timestamp() < until else None


@dataclass(frozen=True, slots=True)
class PersonInfo:
    id: int
    name: str
    preferred_name: str
    date_of_birth: date | None
    phone: str


@dataclass(frozen=True, slots=True)
class VisitInfo:
    id: int
    person_id: int
    reference: str
    service_id: int
    therapist_id: int
    start_at: datetime
    status: str
    manage_token: str | None  # None: booked before tokens were derived
    sequence: int = 0  # what a change form from My visits carries (one-tap rebooking)


@dataclass(frozen=True, slots=True)
class Household:
    contact_id: int
    email: str
    people: tuple[PersonInfo, ...]
    upcoming: tuple[VisitInfo, ...]
    past: tuple[VisitInfo, ...]

    def person(self, person_id: int) -> PersonInfo | None:
        return next((p for p in self.people if p.id == person_id), None)


def household(contact_id: int, *, now: datetime) -> Household | None:
    """A verified contact's people and their visits, newest past first, soonest coming first."""
    with read_session() as session:
        contact = session.get(Contact, contact_id)
        if contact is None:
            return None
        people = session.scalars(
            select(Patient).where(Patient.contact_id == contact_id).order_by(Patient.id)
        ).all()
        visits = session.scalars(
            select(Appointment)
            .where(Appointment.patient_id.in_([p.id for p in people]))
            .order_by(Appointment.start_at)
        ).all()
        secret = _secret()
        infos = [
            VisitInfo(v.id, v.patient_id, v.reference, v.service_id, v.therapist_id, v.start_at,
                      v.status, _derived(secret, v), v.sequence)
            for v in visits
        ]  # fmt: skip
        return Household(
            contact_id=contact.id,
            email=contact.email,
            people=tuple(
                PersonInfo(p.id, p.name, p.preferred_name, p.date_of_birth, p.phone) for p in people
            ),
            upcoming=tuple(v for v in infos if v.start_at > now and v.status == "booked"),
            past=tuple(
                reversed([v for v in infos if not (v.start_at > now and v.status == "booked")])
            ),
        )


def _derived(secret: str, visit: Appointment) -> str | None:
    token = tokens.manage_token(secret, visit.calendar_uid)
    return token if tokens.hash_token(token) == visit.manage_token_hash else None


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(_secret(), salt="patient-access-token")


def _secret() -> str:
    return str(current_app.config["SECRET_KEY"])
