"""Reschedule and cancel: each one transaction that re-checks every rule inside it."""

from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta

from sqlalchemy import select

from booking.database import transactional
from booking.extensions import db
from booking.models import Appointment, Event, Status
from booking.services import audit, outbox, tokens
from booking.services import catalog as catalogs
from booking.services.availability import nearest_slots
from booking.services.booking import rules, writes
from booking.services.booking.rules import Change
from booking.services.errors import NotFound, SlotUnavailable
from booking.services.outbox import Placement

log = logging.getLogger(__name__)
TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{43}")
MANAGE_LINK_LIFETIME = timedelta(days=30)


def appointment_for_token(token: str, *, now: datetime) -> Appointment:
    """Return the appointment a live manage token opens, or raise `NotFound`.

    A link dies `MANAGE_LINK_LIFETIME` after its appointment ends: an old email in a shared
    or stolen mailbox should not open a patient's history forever.
    """
    appointment = None
    if TOKEN_SHAPE.fullmatch(token):
        appointment = db.session.scalar(
            select(Appointment).where(Appointment.manage_token_hash == tokens.hash_token(token))
        )
    if appointment is None or appointment.end_at + MANAGE_LINK_LIFETIME < now:
        raise NotFound("No appointment matches this link.")
    return appointment


def reschedule(
    appointment_id: int,
    start: datetime,
    *,
    now: datetime,
    therapist_id: int | None = None,
    actor: str = "patient",
    enforce_cutoff: bool = True,
    expected_sequence: int | None = None,
    skip_spacing: bool = False,
    override_reason: str = "",
) -> Appointment:
    """Move an appointment to `start` (and optionally another therapist), or refuse entirely.

    With `expected_sequence`, refuse if the appointment changed since the caller looked at it.
    `skip_spacing` (staff only, with `override_reason`) allows a needling visit closer to
    another of the person's than the clinic's spacing; the override is audited.
    """
    change = Change(actor, enforce_cutoff, expected_sequence, skip_spacing, override_reason)
    try:
        appointment = _move(appointment_id, start, now, therapist_id, change)
    except SlotUnavailable as exc:
        catalog = catalogs.current()
        moving = db.session.get(Appointment, appointment_id)
        if moving is not None:
            service = catalog.services[moving.service_id]
            exc.alternatives = nearest_slots(
                catalog,
                service,
                start,
                now=now,
                therapists=catalog.therapists_for(service, therapist_id),
                exclude_appointment_id=appointment_id,
                patient_id=moving.patient_id,  # only times that keep the spacing
            )
        raise
    log.info("appointment %s rescheduled", appointment_id)
    return appointment


@transactional
def _move(
    appointment_id: int,
    start: datetime,
    now: datetime,
    therapist_id: int | None,
    change: Change,
) -> Appointment:
    catalog = catalogs.current()
    overridden = rules.move_overrides(change)
    appointment = rules.changeable(catalog, appointment_id, now, change)
    service = catalog.services[appointment.service_id]
    target = appointment.therapist_id if therapist_id is None else therapist_id
    if start == appointment.start_at and target == appointment.therapist_id:
        return appointment
    rules.place(
        catalog,
        service,
        start,
        now=now,
        therapist_id=target,
        patient_id=appointment.patient_id,
        exclude=appointment.id,
        skip_spacing=change.skip_spacing,
    )
    rules.keep_follow_ups_anchored(catalog, appointment, start)
    before = appointment.snapshot()
    was = Placement.of(appointment)
    appointment.therapist_id = target
    appointment.start_at = start
    appointment.end_at = start + service.duration
    appointment.occupied_until = start + service.occupies
    appointment.sequence += 1
    appointment.updated_at = now
    writes.flush()
    _audit(change.actor, "rescheduled", appointment, before, now)
    if overridden:
        audit.record(
            [audit.row(change.actor, "rule_overridden", appointment.id, now=now, after=overridden)]
        )
    outbox.record(Event.RESCHEDULED, appointment, catalog=catalog, now=now, before=was)
    return appointment


def cancel(
    appointment_id: int,
    *,
    now: datetime,
    reason: str = "",
    actor: str = "patient",
    enforce_cutoff: bool = True,
    expected_sequence: int | None = None,
) -> Appointment:
    """Cancel an appointment, freeing its time."""
    change = Change(actor, enforce_cutoff, expected_sequence)
    appointment = _cancel(appointment_id, now, reason, change)
    log.info("appointment %s cancelled", appointment_id)
    return appointment


@transactional
def _cancel(appointment_id: int, now: datetime, reason: str, change: Change) -> Appointment:
    catalog = catalogs.current()
    appointment = rules.changeable(catalog, appointment_id, now, change)
    rules.keep_follow_ups_anchored(catalog, appointment, None)
    before = appointment.snapshot()
    appointment.status = Status.CANCELLED.value
    appointment.cancel_reason = reason.strip()
    appointment.sequence += 1
    appointment.updated_at = now
    writes.flush()
    _audit(change.actor, "cancelled", appointment, before, now)
    outbox.record(Event.CANCELLED, appointment, catalog=catalog, now=now)
    return appointment


def _audit(
    actor: str, action: str, appointment: Appointment, before: dict[str, object], now: datetime
) -> None:
    after = appointment.snapshot()
    audit.record([audit.row(actor, action, appointment.id, now=now, before=before, after=after)])
