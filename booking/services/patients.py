"""Finding people for the front desk, and what a person's record shows around them.

Reads only, in the request's session; the record's changes are `person_edits`, `changes`
(proposed changes) and `merge`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from babel.dates import format_date, get_day_names, get_month_names
from sqlalchemy import ColumnElement, and_, func, or_, select, true

from booking.extensions import db
from booking.models import (
    Appointment,
    AuditEvent,
    ChangeStatus,
    Contact,
    Course,
    Patient,
    PatientChange,
    email_key,
    name_key,
)
from booking.services.validation import birth_date

MIN_QUERY = 2
LIMIT = 20


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def shown_date(value: date, locale: str = "en_CA") -> str:
    """A date of birth as the staff pages show it: "May 17, 1980"."""
    return str(format_date(value, "medium", locale=locale))


def typed_date(query: str, locale: str = "en_CA") -> date | None:
    """The date `query` writes: `YYYY-MM-DD`, or as the clinic shows dates ("May 17, 1980").

    A day, a month's name (the clinic's language, in full or short) and a four-digit year,
    in any order, a weekday's name aside: "17 May 1980", "Saturday, May 17, 1980".
    """
    if (iso := birth_date(query)) is not None:
        return iso
    names = {
        n.casefold().rstrip(".")
        for width in ("wide", "abbreviated")
        for n in get_day_names(width, locale=locale).values()
    }
    words = [
        w.rstrip(".")
        for w in re.findall(r"[^\W\d_]+\.?|\d+", query.casefold())
        if w.rstrip(".") not in names
    ]
    months = {
        name.casefold().rstrip("."): number
        for width in ("wide", "abbreviated")
        for number, name in get_month_names(width, locale=locale).items()
    }
    named = [months[w] for w in words if w in months]
    years = [int(w) for w in words if w.isdigit() and len(w) == 4]
    days = [int(w) for w in words if w.isdigit() and len(w) <= 2]
    if len(named) != 1 or len(years) != 1 or len(days) != 1 or len(words) != 3:
        return None
    try:
        return date(years[0], named[0], days[0])
    except ValueError:
        return None


def search(query: str, *, limit: int = LIMIT, locale: str = "en_CA") -> list[Patient]:
    """People whose name, contact email, phone or date of birth matches `query`.

    A name or email matches on a part of it (case, spacing, accents and Gmail's dots
    aside); a phone on its digits; a date of birth exactly (`YYYY-MM-DD` or as shown).
    """
    query = query.strip()
    if len(query) < MIN_QUERY:
        return []
    conditions: list[ColumnElement[bool]] = [
        Patient.name_key.like(_like(name_key(query)), escape="\\"),
        func.lower(Patient.preferred_name).like(_like(query.lower()), escape="\\"),
        Contact.email.like(_like(query.lower()), escape="\\"),
        Contact.email_key.like(_like(email_key(query)), escape="\\"),
    ]
    digits = re.sub(r"\D", "", query)
    if len(digits) >= 3 and not re.search(r"[^\d\s().+-]", query):
        # Compare digits only: "604 555 0199" finds "+16045550199".
        stripped = func.replace(
            func.replace(func.replace(Patient.phone, "-", ""), " ", ""), ".", ""
        )
        conditions.append(stripped.like(_like(digits), escape="\\"))
    if (born := typed_date(query, locale)) is not None:
        conditions.append(Patient.date_of_birth == born)
    return list(
        db.session.scalars(
            select(Patient)
            .join(Contact, Contact.id == Patient.contact_id)
            .where(or_(*conditions))
            .order_by(Patient.name, Patient.id)
            .limit(limit)
        )
    )


def appointments_of(patient_id: int) -> list[Appointment]:
    return list(
        db.session.scalars(
            select(Appointment)
            .where(Appointment.patient_id == patient_id)
            .order_by(Appointment.start_at.desc())
        )
    )


def course_ids(patient_id: int) -> list[int]:
    """The person's courses of care, newest first."""
    return list(
        db.session.scalars(
            select(Course.id).where(Course.patient_id == patient_id).order_by(Course.id.desc())
        )
    )


def household(person: Patient) -> list[Patient]:
    """The other people of the person's contact, by name."""
    return list(
        db.session.scalars(
            select(Patient)
            .where(Patient.contact_id == person.contact_id, Patient.id != person.id)
            .order_by(Patient.name, Patient.id)
        )
    )


def duplicates(person: Patient) -> list[Patient]:
    """People who may be this one: the same name and date of birth in another household,
    or the same name in this household with another or no date of birth."""
    same_elsewhere = and_(
        Patient.contact_id != person.contact_id,
        Patient.date_of_birth == person.date_of_birth,
    )
    # Here: another date of birth, or none on one side (recorded before they were asked).
    other_dates = (
        Patient.date_of_birth.is_(None) | (Patient.date_of_birth != person.date_of_birth)
        if person.date_of_birth is not None
        else true()
    )
    same_here = and_(Patient.contact_id == person.contact_id, other_dates)
    return list(
        db.session.scalars(
            select(Patient)
            .where(
                Patient.id != person.id,
                Patient.name_key == person.name_key,
                or_(same_elsewhere, same_here),
            )
            .order_by(Patient.id)
        )
    )


def pending_changes(patient_id: int) -> list[PatientChange]:
    """The changes typed online for this person that nobody has decided yet, oldest first."""
    return list(
        db.session.scalars(
            select(PatientChange)
            .where(
                PatientChange.patient_id == patient_id,
                PatientChange.status == ChangeStatus.PENDING.value,
            )
            .order_by(PatientChange.proposed_at, PatientChange.id)
        )
    )


@dataclass(frozen=True, slots=True)
class Waiting:
    """A person with proposed changes to decide."""

    patient: Patient
    count: int


def waiting(limit: int = 50) -> list[Waiting]:
    """The people with pending proposed changes, the longest waiting first."""
    rows = db.session.execute(
        select(Patient, func.count(PatientChange.id))
        .join(PatientChange, PatientChange.patient_id == Patient.id)
        .where(PatientChange.status == ChangeStatus.PENDING.value)
        .group_by(Patient.id)
        .order_by(func.min(PatientChange.proposed_at), Patient.id)
        .limit(limit)
    )
    return [Waiting(patient, count) for patient, count in rows]


def pending_count() -> int:
    """How many proposed changes wait for reception, for everyone."""
    return int(
        db.session.scalar(
            select(func.count())
            .select_from(PatientChange)
            .where(PatientChange.status == ChangeStatus.PENDING.value)
        )
        or 0
    )


def merged_into(patient_id: int) -> list[int]:
    """The ids of the records merged into this one (and into those), for its history."""
    found: list[int] = []
    frontier = [patient_id]
    while frontier:
        rows = db.session.scalars(
            select(AuditEvent.entity_id).where(
                AuditEvent.entity == "patient",
                AuditEvent.action == "merged_into",
                AuditEvent.after["patient_id"].as_integer().in_(frontier),
            )
        )
        frontier = [i for i in rows if i not in found and i != patient_id]
        found.extend(frontier)
    return found


def history(patient_id: int) -> list[AuditEvent]:
    """What happened to the person's record, and to the records merged into it, oldest first."""
    ids = [patient_id, *merged_into(patient_id)]
    return list(
        db.session.scalars(
            select(AuditEvent)
            .where(AuditEvent.entity == "patient", AuditEvent.entity_id.in_(ids))
            .order_by(AuditEvent.at, AuditEvent.id)
        )
    )
