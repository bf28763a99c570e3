"""Merge two records of one person: the kept record takes the other's visits and changes.

Visits carry their screening, messages and idempotency keys with them (those rows hang on
the appointment); proposed changes move too. The audit trail is append-only, so its rows
about the merged-away record stay as they were: a `merged_into` row on that id, and a
`merged` row on the kept one, tie them together (`patients.history` follows them). The
merged-away person is then deleted, and their contact too if nobody is left in it.

"One person cannot be in two places at once": two overlapping visits (not cancelled) of
the two records would become one person's, so the merge is refused, and says which. The
database's own guarantee (the patient overlap constraint) stays the last line, for a visit
booked while the merge runs.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased

from booking.database import transactional, violated
from booking.extensions import db
from booking.models import (
    PATIENT_OVERLAP,
    Appointment,
    Course,
    Patient,
    PatientChange,
    Status,
)
from booking.services import audit
from booking.services.errors import BookingError, InvalidRequest
from booking.services.person_edits import details, load, readdress, remove_if_empty

log = logging.getLogger(__name__)


class MergeRefused(BookingError):
    """The two records cannot be merged; `clashes` are (kept visit, merged visit) ids."""

    code = "merge_refused"

    def __init__(self, message: str, clashes: list[tuple[int, int]] | None = None) -> None:
        super().__init__(message, clashes=clashes or [])
        self.clashes = clashes or []


@dataclass(frozen=True, slots=True)
class Merged:
    kept_id: int
    merged_id: int
    appointment_ids: list[int]
    change_ids: list[int]
    contact_removed: bool


def clashes(keep_id: int, drop_id: int) -> list[tuple[int, int]]:
    """Pairs of visits, one of each record, that overlap in time (neither cancelled)."""
    kept, dropped = aliased(Appointment), aliased(Appointment)
    rows = db.session.execute(
        select(kept.id, dropped.id)
        .join(
            dropped,
            and_(
                dropped.patient_id == drop_id,
                dropped.status != Status.CANCELLED.value,
                dropped.start_at < kept.end_at,
                kept.start_at < dropped.end_at,
            ),
        )
        .where(kept.patient_id == keep_id, kept.status != Status.CANCELLED.value)
        .order_by(kept.start_at)
    )
    return [(a, b) for a, b in rows]


OVERLAP = (
    "These two records have visits at overlapping times, and one person cannot be in two "
    "places at once. Cancel or move one of each pair first, then merge."
)


@transactional
def merge(keep_id: int, drop_id: int, *, actor: str, now: datetime) -> Merged:
    """Merge record `drop_id` into `keep_id` (whose details stay), or raise `MergeRefused`."""
    if keep_id == drop_id:
        raise InvalidRequest({"other": "Choose another record: a record is merged with another."})
    keep, drop = load(keep_id), load(drop_id)
    if found := clashes(keep.id, drop.id):
        raise MergeRefused(OVERLAP, found)
    visits = list(
        db.session.scalars(
            select(Appointment.id).where(Appointment.patient_id == drop.id).order_by(Appointment.id)
        )
    )
    changes = list(
        db.session.scalars(
            select(PatientChange.id)
            .where(PatientChange.patient_id == drop.id)
            .order_by(PatientChange.id)
        )
    )
    kept_before, merged_before = details(keep), details(drop)
    try:
        db.session.execute(
            update(Appointment).where(Appointment.patient_id == drop.id).values(patient_id=keep.id),
            execution_options={"synchronize_session": False},
        )
        db.session.execute(
            update(PatientChange)
            .where(PatientChange.patient_id == drop.id)
            .values(patient_id=keep.id),
            execution_options={"synchronize_session": False},
        )
        db.session.execute(  # a course follows its person, as its visits do
            update(Course).where(Course.patient_id == drop.id).values(patient_id=keep.id),
            execution_options={"synchronize_session": False},
        )
        readdress(keep)
        contact_id = drop.contact_id
        db.session.expunge(drop)
        db.session.execute(
            delete(Patient).where(Patient.id == drop_id),
            execution_options={"synchronize_session": False},
        )
        removed = contact_id != keep.contact_id and remove_if_empty(contact_id)
    except IntegrityError as exc:
        # The last line: a visit booked for either record while this ran.
        if violated(exc, PATIENT_OVERLAP):
            raise MergeRefused(OVERLAP) from exc
        raise MergeRefused(
            "One of the records changed while they were being merged: nothing was changed. "
            "Please look at both again."
        ) from exc
    moved = {"appointment_ids": visits, "change_ids": changes}
    audit.record(
        [
            audit.row(
                actor, "merged", keep.id, entity="patient", now=now,
                before={"kept": kept_before, "merged": merged_before | {"id": drop_id}},
                after={"patient_id": keep.id, "merged_id": drop_id, **moved,
                       "contact_removed": removed},
            ),
            audit.row(
                actor, "merged_into", drop_id, entity="patient", now=now,
                before=merged_before, after={"patient_id": keep.id, **moved},
            ),
        ]
    )  # fmt: skip
    log.info("patient %s merged into %s (%d visits)", drop_id, keep.id, len(visits))
    return Merged(keep.id, drop_id, visits, changes, removed)
