"""Who a booking is for: the person on record, matched without ever overwriting them.

The same contact (email, case and Gmail's dots aside), name (case, spacing and accents aside)
and date of birth is the same person; anything else is a new person in that household. A
detail typed online that differs from the record (a new phone, a respelt name) becomes a
proposed change for reception, never an edit.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, NamedTuple

from sqlalchemy import Select, and_, bindparam, select, update
from sqlalchemy.dialects import postgresql, sqlite

from booking.database import dialect_name, execute
from booking.models import (
    ChangeField,
    ChangeStatus,
    Contact,
    Patient,
    PatientChange,
    Source,
    email_key,
    name_key,
    normalize_email,
)
from booking.services.booking.values import BookingRequest, PatientDetails
from booking.services.errors import InvalidRequest, VerificationRequired
from booking.services.validation import birth_date_problem, name_problem, phone_number

NOT_IN_HOUSEHOLD = "There is no such person in this household."


class Person(NamedTuple):
    id: int
    name: str
    phone: str
    date_of_birth: date | None
    contact_id: int
    email: str  # the contact's address, where the messages go
    to_name: str  # whom the messages greet: the contact's reader, else the person


_CONTACTS = Contact.__table__
_PEOPLE = Patient.__table__
_CHANGES = PatientChange.__table__


def _people() -> Select[Any]:
    """A person with their contact's address and reader, as `Person` holds them."""
    return select(
        _PEOPLE.c.id,
        _PEOPLE.c.name,
        _PEOPLE.c.phone,
        _PEOPLE.c.date_of_birth,
        _PEOPLE.c.contact_id,
        _CONTACTS.c.email,
        _CONTACTS.c.name,
    ).join(_CONTACTS, _CONTACTS.c.id == _PEOPLE.c.contact_id)


_BY_ID = _people().where(_PEOPLE.c.id == bindparam("id"))
_SAME = _people().where(
    _CONTACTS.c.email_key == bindparam("email_key"),
    _PEOPLE.c.name_key == bindparam("name_key"),
    _PEOPLE.c.date_of_birth == bindparam("date_of_birth"),
)
# Recorded before dates of birth were asked: the same name in the same household.
_UNDATED = (
    _people()
    .where(
        _CONTACTS.c.email_key == bindparam("email_key"),
        _PEOPLE.c.name_key == bindparam("name_key"),
        _PEOPLE.c.date_of_birth.is_(None),
    )
    .order_by(_PEOPLE.c.id)
)
_CONTACT_ID = select(_CONTACTS.c.id, _CONTACTS.c.name).where(
    _CONTACTS.c.email_key == bindparam("email_key")
)
_NAME_CONTACT = (
    update(_CONTACTS)
    .where(_CONTACTS.c.id == bindparam("contact"), _CONTACTS.c.name == "")
    .values(name=bindparam("reader"))
)
_INSERT_CONTACT = {
    d.dialect.name: d.insert(_CONTACTS)
    .on_conflict_do_nothing(index_elements=["email_key"])
    .returning(_CONTACTS.c.id)
    for d in (postgresql, sqlite)
}
_INSERT_PERSON = {
    d.dialect.name: d.insert(_PEOPLE)
    .on_conflict_do_nothing(index_elements=["contact_id", "name_key", "date_of_birth"])
    .returning(_PEOPLE.c.id)
    for d in (postgresql, sqlite)
}
_PENDING_SAME = select(_CHANGES.c.id).where(
    and_(
        _CHANGES.c.patient_id == bindparam("patient_id"),
        _CHANGES.c.field == bindparam("field"),
        _CHANGES.c.value == bindparam("value"),
        _CHANGES.c.status == ChangeStatus.PENDING.value,
    )
)


def _person(row: tuple[Any, ...]) -> Person:
    pid, name, phone, born, contact_id, email, reader = row
    return Person(pid, name, phone, born, contact_id, email, reader or name)


def check(request: BookingRequest, *, prerequisite: bool, today: date) -> None:
    """Refuse a request whose person cannot be booked as asked, before anything is read.

    Online, a visit that needs an earlier one (a follow-up) is booked only for a person on
    record whose household an emailed link verified: the answer to anyone else is the same
    whatever the email, so the site and the API never tell who is a patient.
    """
    if request.person_id is None and request.patient is None:
        raise InvalidRequest({"patient": "Say who the visit is for."})
    online = request.source == Source.ONLINE
    if online and request.person_id is not None and request.contact_id is None:
        raise VerificationRequired(_VERIFY)
    if online and prerequisite and request.person_id is None:
        raise VerificationRequired(_VERIFY)
    details = request.patient
    if details is None:
        return
    if problem := name_problem(details.name):  # every edge refuses it first
        raise InvalidRequest({"patient.name": problem})
    if problem := name_problem(details.booker):
        raise InvalidRequest({"patient.booker": problem})
    if request.person_id is None:
        if details.date_of_birth is None:
            raise InvalidRequest({"patient.date_of_birth": "Enter the date of birth."})
        if problem := birth_date_problem(details.date_of_birth, today):
            raise InvalidRequest({"patient.date_of_birth": problem})


_VERIFY = (
    "A return visit is booked online for a patient on record, once they have opened the "
    'one-time link we email them ("Been here before?"), or by phoning the clinic.'
)


def on_record(request: BookingRequest) -> Person | None:
    """The person the request names or matches, if on record; checks the household."""
    if request.person_id is not None:
        row = execute(_BY_ID, {"id": request.person_id}).first()
        person = None if row is None else _person(row)
        # One answer for "no such id" and "someone else's": the id proves nothing.
        if person is None or (
            request.contact_id is not None and person.contact_id != request.contact_id
        ):
            raise InvalidRequest({"person_id": NOT_IN_HOUSEHOLD})
        return person
    details = request.patient
    assert details is not None and details.date_of_birth is not None  # `check` ran
    keys = {"email_key": email_key(details.email), "name_key": name_key(details.name)}
    row = execute(_SAME, keys | {"date_of_birth": details.date_of_birth}).first()
    if row is None:
        row = execute(_UNDATED, keys).first()
    return None if row is None else _person(row)


def ensure(details: PatientDetails, now: datetime) -> tuple[Person, bool]:
    """Return the person these details describe, added (with their contact) if new."""
    assert details.date_of_birth is not None
    email = normalize_email(details.email)
    key = email_key(email)
    booker = details.booker.strip()
    contact_id = execute(
        _INSERT_CONTACT[dialect_name()],
        {"email": email, "email_key": key, "name": booker, "created_at": now},
    ).scalar()
    if contact_id is None:  # on record, or a concurrent booking just added it
        row = execute(_CONTACT_ID, {"email_key": key}).first()
        if row is None:
            raise RuntimeError("a contact vanished while being booked")
        contact_id, reader = row
        if booker and not reader:  # who reads the messages, told for the first time
            execute(_NAME_CONTACT, {"contact": contact_id, "reader": booker})
        booker = booker or reader
        undated = execute(_UNDATED, {"email_key": key, "name_key": name_key(details.name)}).first()
        if undated is not None:  # on record from before dates of birth: the same person
            return _person(undated), False
    name = details.name.strip()
    params = {
        "contact_id": contact_id,
        "name": name,
        "name_key": name_key(name),
        "preferred_name": "",
        "date_of_birth": details.date_of_birth,
        "phone": _phone(details.phone),
        "created_at": now,
    }
    person_id = execute(_INSERT_PERSON[dialect_name()], params).scalar()
    if person_id is not None:
        reader = booker or name
        return Person(person_id, name, params["phone"], details.date_of_birth, contact_id,
                      email, reader), True  # fmt: skip
    row = execute(
        _SAME,
        {"email_key": key, "name_key": name_key(name), "date_of_birth": details.date_of_birth},
    ).first()
    if row is None:
        raise RuntimeError("a person vanished while being booked")
    return _person(row), False


def proposals(
    person: Person, details: PatientDetails | None, appointment_id: int, now: datetime
) -> list[dict[str, object]]:
    """The changes typed details propose to a person on record (none already pending)."""
    if details is None:
        return []
    typed = {
        ChangeField.NAME: details.name.strip(),
        ChangeField.PHONE: _phone(details.phone),
        ChangeField.DATE_OF_BIRTH: details.date_of_birth.isoformat()
        if details.date_of_birth
        else "",
    }
    held = {
        ChangeField.NAME: person.name,
        ChangeField.PHONE: person.phone,
        ChangeField.DATE_OF_BIRTH: person.date_of_birth.isoformat() if person.date_of_birth else "",
    }
    rows: list[dict[str, object]] = []
    for field, value in typed.items():
        if not value or value == held[field]:
            continue  # left blank (a verified follow-up may leave them) or unchanged
        params = {"patient_id": person.id, "field": field.value, "value": value}
        if execute(_PENDING_SAME, params).first() is not None:
            continue
        rows.append(
            params | {"appointment_id": appointment_id, "status": ChangeStatus.PENDING.value,
                      "proposed_at": now, "decided_at": None, "decided_by": None}
        )  # fmt: skip
    return rows


def _phone(raw: str) -> str:
    # E.164 when it parses (every edge checks that it does), else as given.
    return phone_number(raw) or raw.strip()
