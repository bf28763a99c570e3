"""Reception corrects a person's record: their details, or the contact (email) they belong to.

Each change is one transaction with its audit row, which holds the values before and after
(the audit trail is staff-only and never leaves the database; logs carry ids only). A change
that would make this person the same as another in one household (the same contact, name
and date of birth) is refused with the other's id: the two are one person, to be merged.
"""

from __future__ import annotations

import logging
from datetime import date, datetime
from typing import Any

from email_validator import EmailNotValidError
from sqlalchemy import delete, exists, select, update
from sqlalchemy.exc import IntegrityError

from booking.database import transactional, violated
from booking.extensions import db
from booking.models import (
    Appointment,
    Contact,
    Delivery,
    OutboxMessage,
    Patient,
    Recipient,
    email_key,
    name_key,
    normalize_email,
)
from booking.services import audit
from booking.services import catalog as catalogs
from booking.services.errors import BookingError, InvalidRequest, NotFound
from booking.services.validation import (
    NAME_MAX_LENGTH,
    birth_date_problem,
    mail_address,
    name_problem,
    phone_number,
)

log = logging.getLogger(__name__)
SAME_PERSON = "uq_patient_contact_id_name_key_dob"


class SamePerson(BookingError):
    """The change would make two records of one household the same person: merge them."""

    code = "same_person"

    def __init__(self, other_id: int | None) -> None:
        super().__init__(
            "Another record in this household has this name and date of birth. If they are "
            "the same person, merge the two records instead.",
            other_id=other_id,
        )
        self.other_id = other_id


def details(person: Patient) -> dict[str, Any]:
    """The person's details as the audit trail records them."""
    born = person.date_of_birth
    return {
        "name": person.name,
        "preferred_name": person.preferred_name,
        "date_of_birth": born.isoformat() if born else None,
        "phone": person.phone,
        "contact_id": person.contact_id,
    }


def load(patient_id: int) -> Patient:
    person = db.session.get(Patient, patient_id)
    if person is None:
        raise NotFound("There is no such patient.")
    return person


def clinic_today(now: datetime) -> date:
    return now.astimezone(catalogs.current().clinic.zone).date()


def other_with(contact_id: int, key: str, born: date | None, *, besides: int) -> int | None:
    """The id of another person of the contact with this name key and date of birth."""
    if born is None:  # the database holds NULLs distinct: no two undated people collide
        return None
    return db.session.scalar(
        select(Patient.id).where(
            Patient.contact_id == contact_id,
            Patient.name_key == key,
            Patient.date_of_birth == born,
            Patient.id != besides,
        )
    )


def flush(person: Patient) -> None:
    """Write the session's changes; the database's refusal of a twin is `SamePerson`."""
    try:
        db.session.flush()
    except IntegrityError as exc:
        if violated(exc, SAME_PERSON, "patient.contact_id, patient.name_key"):
            raise SamePerson(None) from exc  # a concurrent change made the twin
        raise


def check_details(
    name: str, preferred_name: str, born: date | None, phone: str, *, today: date,
    had_birth_date: bool,
) -> tuple[str, str, str]:  # fmt: skip
    """Return the name, preferred name and phone to store, or raise `InvalidRequest`."""
    problems: dict[str, str] = {}
    name, preferred_name = name.strip(), preferred_name.strip()
    if not name:
        problems["name"] = "Enter the name."
    elif len(name) > NAME_MAX_LENGTH:
        problems["name"] = f"Use at most {NAME_MAX_LENGTH} characters."
    elif problem := name_problem(name):
        problems["name"] = problem
    if len(preferred_name) > NAME_MAX_LENGTH:
        problems["preferred_name"] = f"Use at most {NAME_MAX_LENGTH} characters."
    elif problem := name_problem(preferred_name):
        problems["preferred_name"] = problem
    if born is None and had_birth_date:
        problems["date_of_birth"] = "Enter the date of birth."
    elif born is not None and (problem := birth_date_problem(born, today)):
        problems["date_of_birth"] = problem
    stored_phone = ""
    if phone.strip():
        parsed = phone_number(phone)
        if parsed is None:
            problems["phone"] = "Enter a phone number like 604-555-0123."
        stored_phone = parsed or ""
    if problems:
        raise InvalidRequest(problems)
    return name, preferred_name, stored_phone


@transactional
def edit_details(
    patient_id: int,
    *,
    name: str,
    preferred_name: str,
    date_of_birth: date | None,
    phone: str,
    actor: str,
    now: datetime,
) -> list[str]:
    """Correct a person's name, preferred name, date of birth and phone; return what changed."""
    person = load(patient_id)
    name, preferred_name, phone = check_details(
        name, preferred_name, date_of_birth, phone, today=clinic_today(now),
        had_birth_date=person.date_of_birth is not None,
    )  # fmt: skip
    before = details(person)
    twin = other_with(person.contact_id, name_key(name), date_of_birth, besides=person.id)
    if twin is not None:
        raise SamePerson(twin)
    person.name, person.preferred_name = name, preferred_name
    person.date_of_birth, person.phone = date_of_birth, phone
    after = details(person)
    changed = [field for field in before if before[field] != after[field]]
    if not changed:
        return []
    flush(person)
    audit.record(
        [
            audit.row(
                actor, "details_changed", person.id, entity="patient", now=now,
                before={f: before[f] for f in changed}, after={f: after[f] for f in changed},
            )
        ]
    )  # fmt: skip
    log.info("patient %s: details changed (%s)", person.id, ", ".join(changed))
    return changed


@transactional
def move_to_email(patient_id: int, email: str, *, actor: str, now: datetime) -> int:
    """Move a person to the contact of `email` (made if new); return the contact's id.

    The household they leave keeps its other people; a contact left with nobody is removed.
    Unsent messages about the person's visits go to the new address.
    """
    person = load(patient_id)
    try:
        address = normalize_email(mail_address(email))
    except EmailNotValidError:
        raise InvalidRequest({"email": "Enter an email address like name@example.com."}) from None
    old = db.session.get_one(Contact, person.contact_id)
    key = email_key(address)
    if key == old.email_key:
        raise InvalidRequest({"email": "This person's messages already go to this address."})
    target = db.session.scalar(select(Contact).where(Contact.email_key == key))
    if target is None:
        target = Contact(email=address, email_key=key, name="", created_at=now)
        db.session.add(target)
        db.session.flush()
    elif twin := other_with(target.id, person.name_key, person.date_of_birth, besides=person.id):
        raise SamePerson(twin)
    before = {"contact_id": old.id, "email": old.email}
    person.contact_id = target.id
    flush(person)
    db.session.refresh(person, ["contact"])
    readdress(person)
    removed = remove_if_empty(old.id)
    after = {"contact_id": target.id, "email": target.email, "old_contact_removed": removed}
    audit.record(
        [audit.row(actor, "contact_changed", person.id, entity="patient", now=now,
                   before=before, after=after)]
    )  # fmt: skip
    log.info("patient %s moved from contact %s to %s", person.id, old.id, target.id)
    return target.id


def readdress(person: Patient) -> None:
    """Send the unsent messages about the person's visits to their contact as it is now."""
    name, address = person.addressee
    visits = select(Appointment.id).where(Appointment.patient_id == person.id)
    db.session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.recipient == Recipient.PATIENT.value,
            OutboxMessage.status == Delivery.PENDING.value,
            OutboxMessage.appointment_id.in_(visits),
        )
        .values(to_name=name, to_address=address),
        execution_options={"synchronize_session": False},
    )


def remove_if_empty(contact_id: int) -> bool:
    """Delete the contact if nobody belongs to it any more; return whether it was."""
    if db.session.scalar(select(exists().where(Patient.contact_id == contact_id))):
        return False
    db.session.execute(
        delete(Contact).where(Contact.id == contact_id),
        execution_options={"synchronize_session": False},
    )
    return True
