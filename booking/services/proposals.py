"""Reception decides the changes a patient typed online: accept (the record takes the value)
or reject (it keeps its own). Each decision is one transaction with its audit row.

A decision is taken once: the row moves from pending in one conditional UPDATE, so of two
people deciding at once (or a page shown before someone else decided) only the first
counts, and the other is told it was already decided.
"""

from __future__ import annotations

import logging
from datetime import date, datetime

from sqlalchemy import update

from booking.database import transactional
from booking.extensions import db
from booking.models import ChangeField, ChangeStatus, Patient, PatientChange, name_key
from booking.services import audit
from booking.services.errors import NotFound, Stale
from booking.services.person_edits import (
    SamePerson,
    check_details,
    clinic_today,
    details,
    flush,
    load,
    other_with,
)

log = logging.getLogger(__name__)


@transactional
def decide(
    change_id: int, *, accept: bool, actor: str, now: datetime, patient_id: int | None = None
) -> PatientChange:
    """Accept or reject a pending proposed change; raise `Stale` if it was decided already."""
    change = db.session.get(PatientChange, change_id)
    if change is None or (patient_id is not None and change.patient_id != patient_id):
        raise NotFound("There is no such proposed change.")
    status = ChangeStatus.ACCEPTED if accept else ChangeStatus.REJECTED
    taken = db.session.execute(
        update(PatientChange)
        .where(PatientChange.id == change_id, PatientChange.status == ChangeStatus.PENDING.value)
        .values(status=status.value, decided_at=now, decided_by=actor),
        execution_options={"synchronize_session": False},
    )
    if taken.rowcount != 1:  # type: ignore[attr-defined]
        db.session.refresh(change)
        raise Stale(
            f"This change was already {change.status} by someone else: nothing was changed."
        )
    db.session.refresh(change)
    person = load(change.patient_id)
    before = details(person)
    if accept:
        _apply(person, ChangeField(change.field), change.value, now)
        flush(person)
    after = details(person)
    changed = [f for f in before if before[f] != after[f]]
    audit.record(
        [
            audit.row(
                actor, f"change_{status.value}", person.id, entity="patient", now=now,
                before={"change_id": change.id, "status": ChangeStatus.PENDING.value}
                | {f: before[f] for f in changed},
                after={"change_id": change.id, "status": status.value, "field": change.field}
                | {f: after[f] for f in changed},
            )
        ]
    )  # fmt: skip
    log.info("patient %s: proposed change %s %s", person.id, change.id, status.value)
    return change


def _apply(person: Patient, field: ChangeField, value: str, now: datetime) -> None:
    name, born, phone = person.name, person.date_of_birth, person.phone
    if field == ChangeField.NAME:
        name = value
    elif field == ChangeField.PHONE:
        phone = value
    else:
        born = date.fromisoformat(value)
    name, _, phone = check_details(
        name, person.preferred_name, born, phone, today=clinic_today(now),
        had_birth_date=person.date_of_birth is not None,
    )  # fmt: skip
    twin = other_with(person.contact_id, name_key(name), born, besides=person.id)
    if twin is not None:
        raise SamePerson(twin)
    person.name, person.date_of_birth, person.phone = name, born, phone
