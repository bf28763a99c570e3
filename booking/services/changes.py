"""Until when a patient may move or cancel online: the cut-off, and the grace after a change.

A visit inside the cut-off is changed by phone only, except during the grace period just after
it was booked or moved (by anyone), so that a slip of the finger never traps the patient.
The site, the manage page, the emails and the API all ask here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from sqlalchemy import select

from booking.dates import Style
from booking.extensions import db
from booking.models import AuditEvent, Status
from booking.services.catalog import ClinicInfo


class Placed(Protocol):
    """An appointment: the ORM's, or the booking service's `Visit` value."""

    @property
    def id(self) -> int: ...
    @property
    def status(self) -> str: ...
    @property
    def sequence(self) -> int: ...
    @property
    def start_at(self) -> datetime: ...
    @property
    def created_at(self) -> datetime: ...


def inside_cutoff(start: datetime, clinic: ClinicInfo, now: datetime) -> bool:
    """Return whether a visit at `start`, booked or moved at `now`, is inside the cut-off."""
    return start - now < clinic.cancel_cutoff


def placed_at(appointment: Placed) -> datetime:
    """Return when the appointment was booked or last moved to its present time."""
    if appointment.sequence == 0:
        return appointment.created_at
    # Only `reschedule` audits "rescheduled", in the same transaction as the move.
    moved = db.session.scalar(
        select(AuditEvent.at)
        .where(
            AuditEvent.entity == "appointment",
            AuditEvent.entity_id == appointment.id,
            AuditEvent.action == "rescheduled",
        )
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        .limit(1)
    )
    return moved or appointment.created_at


def change_deadline(appointment: Placed, clinic: ClinicInfo) -> datetime:
    """Return the last instant of online changes: the later of cut-off and grace end."""
    cutoff = appointment.start_at - clinic.cancel_cutoff
    grace_end = placed_at(appointment) + clinic.change_grace
    return min(max(cutoff, grace_end), appointment.start_at)


def changeable_online(appointment: Placed, clinic: ClinicInfo, now: datetime) -> bool:
    """Return whether the patient may still move or cancel the appointment themselves."""
    return (
        appointment.status == Status.BOOKED
        and appointment.start_at > now
        and now <= change_deadline(appointment, clinic)
    )


def change_until(appointment: Placed, clinic: ClinicInfo, now: datetime) -> str | None:
    """Until when the patient may change online, as patients read it; None if no longer."""
    if not changeable_online(appointment, clinic, now):
        return None
    return Style.of(clinic).when(change_deadline(appointment, clinic), clinic.zone)
