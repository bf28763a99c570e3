"""People and their contacts: a patient (a person) belongs to a contact (an email address).

One contact may hold several people, a household: a parent books for a child from their own
inbox. Every rule about a patient (the follow-up rule, "one person in one place at a time",
screening, history, the audit trail) keys on the person, never on the email.
"""

from __future__ import annotations

import enum
import re
import unicodedata
from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from booking.models.base import Base, one_of, utcnow

# Gmail delivers "j.smith@gmail.com" and "jsmith@gmail.com" to one inbox: one contact.
_DOTLESS_DOMAINS = {"gmail.com": "gmail.com", "googlemail.com": "gmail.com"}


def normalize_email(email: str) -> str:
    """Return the address as the clinic writes to it: trimmed, lower case."""
    return email.strip().lower()


def email_key(email: str) -> str:
    """Return what tells two spellings of one inbox apart from two inboxes.

    Case never matters; for Gmail, dots in the local part do not either. Anything else a
    provider might ignore (plus tags, say) is kept: two addresses may be two people.
    """
    address = normalize_email(email)
    local, at, domain = address.rpartition("@")
    if at and domain in _DOTLESS_DOMAINS:
        return f"{local.replace('.', '')}@{_DOTLESS_DOMAINS[domain]}"
    return address


def name_key(name: str) -> str:
    """Return the form of a name used to match a person: case, spacing and accents aside."""
    folded = unicodedata.normalize("NFKD", name).casefold()
    letters = "".join(c for c in folded if not unicodedata.combining(c))
    return re.sub(r"\s+", " ", letters).strip()


class Contact(Base):
    """An email address that receives a household's messages."""

    __tablename__ = "contact"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254))
    email_key: Mapped[str] = mapped_column(String(254), unique=True)
    # Who reads the messages, when they booked for someone else; blank: the person's name.
    name: Mapped[str] = mapped_column(String(120), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    people: Mapped[list[Patient]] = relationship(
        back_populates="contact", order_by="Patient.id", viewonly=True
    )


class Patient(Base):
    """A person the clinic sees. Matching never overwrites: see `PatientChange`."""

    __tablename__ = "patient"
    __table_args__ = (
        # The same contact, name and date of birth is the same person (two browsers booking
        # a new person at once make one record, and the database says which).
        UniqueConstraint(
            "contact_id", "name_key", "date_of_birth", name="uq_patient_contact_id_name_key_dob"
        ),
        Index("ix_patient_contact_id", "contact_id"),
        Index("ix_patient_name_key", "name_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contact.id"))
    name: Mapped[str] = mapped_column(String(120))
    name_key: Mapped[str] = mapped_column(String(120))
    preferred_name: Mapped[str] = mapped_column(String(120), default="")
    # NULL only for people on record before dates of birth were asked (migration 0011).
    date_of_birth: Mapped[date | None]
    phone: Mapped[str] = mapped_column(String(40), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    contact: Mapped[Contact] = relationship(back_populates="people")

    @validates("name")
    def _keep_name_key(self, _key: str, name: str) -> str:
        self.name_key = name_key(name)
        return name

    @property
    def email(self) -> str:
        """The address this person's messages go to: their contact's."""
        return self.contact.email

    @property
    def addressee(self) -> tuple[str, str]:
        """Whom this person's messages greet, and where they go: their contact."""
        return (self.contact.name or self.name, self.contact.email)

    @property
    def called(self) -> str:
        """The name to greet this person by."""
        return self.preferred_name or self.name


class ChangeField(enum.StrEnum):
    NAME = "name"
    PHONE = "phone"
    DATE_OF_BIRTH = "date_of_birth"


class ChangeStatus(enum.StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    REJECTED = "rejected"


class PatientChange(Base):
    """A detail typed online that differs from the record: reception accepts or rejects it."""

    __tablename__ = "patient_change"
    __table_args__ = (
        CheckConstraint(one_of("field", ChangeField), name="field_valid"),
        CheckConstraint(one_of("status", ChangeStatus), name="status_valid"),
        CheckConstraint(
            "(status = 'pending') = (decided_at IS NULL)", name="decided_unless_pending"
        ),
        Index("ix_patient_change_patient_id", "patient_id"),
        Index("ix_patient_change_status", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"))
    field: Mapped[str] = mapped_column(String(16))
    value: Mapped[str] = mapped_column(String(120))
    appointment_id: Mapped[int | None] = mapped_column(
        ForeignKey("appointment.id", ondelete="SET NULL")
    )  # the booking that typed it
    status: Mapped[str] = mapped_column(String(16), default=ChangeStatus.PENDING.value)
    proposed_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[datetime | None]
    decided_by: Mapped[str | None] = mapped_column(String(80))

    patient: Mapped[Patient] = relationship()


class AccessLink(Base):
    """An emailed one-time link that proves a contact's inbox: 30 minutes, single use.

    Only the token's hash is stored; the token itself is derived from `nonce` and the app's
    secret (`tokens.access_token`), so the outbox's worker can put it into the email and a
    copy of the database alone opens nothing.
    """

    __tablename__ = "access_link"
    __table_args__ = (
        CheckConstraint("expires_at > created_at", name="expires_after_created"),
        Index("ix_access_link_contact_id_created_at", "contact_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contact.id", ondelete="CASCADE"))
    nonce: Mapped[str] = mapped_column(String(32))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
