"""The transactional outbox: what the booking services write, and what the worker takes.

Writing: `record` runs inside the transaction of a booking, reschedule or cancel and adds one
row per recipient (patient, therapist, and on a move between therapists the one who lost the
visit), plus the reminder. If the change rolls back, so do its messages.

Taking: a worker claims due rows under a lease (`claimed_until`) in a short transaction of
its own, then sends without holding any lock. On PostgreSQL `FOR UPDATE SKIP LOCKED` lets
several workers claim at once without waiting for or taking each other's rows; on SQLite the
claim is a serialized write transaction. A row is sent in order after every earlier unsent
message to the same address about the same appointment, so "moved" never overtakes "booked".

Exactly once, and its one limit: a row is marked sent in the transaction after the SMTP
server accepted the message. A worker that dies between the two leaves the row claimed; when
the lease expires another worker sends it again with the same Message-ID, UID and SEQUENCE,
so mail systems and calendar clients treat the copy as the message they already have. SMTP
has no way to accept a message and record that fact in our database atomically; this window
(milliseconds, and only on a crash) is the price, and it can only ever duplicate, not lose.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, exists, select, update
from sqlalchemy.orm import aliased

from booking.database import insert_rows, write_transaction
from booking.extensions import db
from booking.models import (
    Appointment,
    Delivery,
    Event,
    Method,
    OutboxMessage,
    Patient,
    Recipient,
    Status,
)
from booking.services.catalog import Catalog

LEASE = timedelta(minutes=10)  # longer than a batch can take to send (see delivery.BATCH)
MAX_ATTEMPTS = 36  # with pauses of up to an hour: about a day and a half of outage
FIRST_RETRY = timedelta(minutes=1)
LONGEST_RETRY = timedelta(hours=1)
DETAIL_LIMIT = 500


@dataclass(frozen=True, slots=True)
class Placement:
    """Where and when an appointment was, for the messages about a move."""

    therapist_id: int
    start_at: datetime
    end_at: datetime

    @classmethod
    def of(cls, appointment: Appointment) -> Placement:
        return cls(appointment.therapist_id, appointment.start_at, appointment.end_at)


def record(
    event: Event,
    appointment: Appointment,
    *,
    catalog: Catalog,
    now: datetime,
    before: Placement | None = None,
    contact: tuple[str, str] | None = None,
) -> None:
    """Queue the messages a change causes, in the caller's transaction.

    `contact` is the patient's (name, email) when the caller has it (a booking always does),
    which saves a query. The rows go in as one multi-row INSERT, not through the unit of work: this
    runs inside every booking, while its therapist lock is held.
    """
    if contact is None:
        patient = db.session.get(Patient, appointment.patient_id)
        contact = (patient.name, patient.email)
    method = Method.CANCEL if event == Event.CANCELLED else Method.REQUEST
    previous = before.start_at if before and before.start_at != appointment.start_at else None
    now_at = Placement.of(appointment)
    former_id = before.therapist_id if before is not None else None
    recipients = [
        (recipient, name, address, Method.CANCEL if former else method,
         before if former else now_at)
        for recipient, name, address, former in addressees(
            catalog, contact, appointment.therapist_id, former_id
        )
    ]  # fmt: skip
    rows = [
        _row(appointment, event, row_method, recipient, name, address, placement, now=now,
             due=now, previous=previous if placement is now_at else None)
        for recipient, name, address, row_method, placement in recipients
        if address  # a therapist without an address keeps a calendar feed instead
    ]  # fmt: skip
    if event == Event.RESCHEDULED:
        _skip_reminders(
            appointment.id, "The appointment moved: a reminder for the new time follows."
        )
    elif event == Event.CANCELLED:
        _skip_reminders(appointment.id, "The appointment was cancelled.")
    if event in (Event.BOOKED, Event.RESCHEDULED):
        lead = catalog.clinic.reminder_lead
        due = reminder_due(appointment.start_at, lead)
        # Booked inside the lead time: the confirmation itself is the reminder.
        if lead and due > now:
            rows.append(
                _row(appointment, Event.REMINDER, Method.NONE, Recipient.PATIENT, *contact,
                     now_at, now=now, due=due)
            )  # fmt: skip
    insert_rows(OutboxMessage.__table__, rows)


def addressees(
    catalog: Catalog, contact: tuple[str, str], therapist_id: int, former_id: int | None = None
) -> list[tuple[Recipient, str, str, bool]]:
    """Who hears of a change: (recipient, name, address, whether the former therapist).

    The patient, then on a change of therapist the former one (who gets a cancellation),
    then the therapist. An empty address gets no email (a therapist keeps a feed instead).
    """
    found = [(Recipient.PATIENT, *contact, False)]
    if former_id is not None and former_id != therapist_id:
        former = catalog.therapist(former_id)  # even if switched off
        found.append((Recipient.THERAPIST, former.name, former.email or "", True))
    therapist = catalog.therapist(therapist_id)
    found.append((Recipient.THERAPIST, therapist.name, therapist.email or "", False))
    return found


def reminder_due(start_at: datetime, lead: timedelta) -> datetime:
    return start_at - lead


def _row(
    appointment: Appointment,
    event: Event,
    method: Method,
    recipient: Recipient,
    name: str,
    address: str,
    placement: Placement,
    *,
    now: datetime,
    due: datetime,
    previous: datetime | None = None,
) -> dict[str, object]:
    domain = appointment.calendar_uid.rpartition("@")[2]
    return {
        "appointment_id": appointment.id,
        "event": event.value,
        "method": method.value,
        "recipient": recipient.value,
        "to_name": name,
        "to_address": address,
        "therapist_id": placement.therapist_id,
        "service_id": appointment.service_id,
        "start_at": placement.start_at,
        "end_at": placement.end_at,
        "previous_start_at": previous,
        "sequence": appointment.sequence,
        "message_id": f"<{uuid.uuid4().hex}@{domain}>",
        "status": Delivery.PENDING.value,
        "attempts": 0,
        "due_at": due,
        "detail": "",
        "created_at": now,
    }


def _skip_reminders(appointment_id: int, why: str) -> None:
    db.session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.appointment_id == appointment_id,
            OutboxMessage.event == Event.REMINDER.value,
            OutboxMessage.status == Delivery.PENDING.value,
        )
        .values(status=Delivery.SKIPPED.value, detail=why)
    )


# The worker's side ------------------------------------------------------------------------

_earlier = aliased(OutboxMessage)
_WAITING_BEHIND_EARLIER = exists().where(
    _earlier.appointment_id == OutboxMessage.appointment_id,
    _earlier.to_address == OutboxMessage.to_address,
    _earlier.status == Delivery.PENDING.value,
    _earlier.event != Event.REMINDER.value,
    _earlier.id < OutboxMessage.id,
)


def claim(worker: str, now: datetime, *, limit: int, lease: timedelta = LEASE) -> list[int]:
    """Take up to `limit` due messages for `worker` until `now + lease`; return their ids."""
    with write_transaction() as session:
        ids = list(
            session.scalars(
                select(OutboxMessage.id)
                .where(
                    OutboxMessage.status == Delivery.PENDING.value,
                    OutboxMessage.due_at <= now,
                    (OutboxMessage.claimed_until.is_(None)) | (OutboxMessage.claimed_until < now),
                    ~_WAITING_BEHIND_EARLIER,
                )
                .order_by(OutboxMessage.due_at, OutboxMessage.id)
                .limit(limit)
                .with_for_update(skip_locked=True, of=OutboxMessage)
            )
        )
        if ids:
            session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id.in_(ids))
                .values(
                    claimed_by=worker,
                    claimed_until=now + lease,
                    attempts=OutboxMessage.attempts + 1,
                )
            )
    return ids


def _mine(message_id: int, worker: str):
    return and_(
        OutboxMessage.id == message_id,
        OutboxMessage.claimed_by == worker,
        OutboxMessage.status == Delivery.PENDING.value,
    )


def renew(message_id: int, worker: str, now: datetime, lease: timedelta = LEASE) -> bool:
    """Extend this worker's lease just before sending; False if another worker has the row.

    A slow server can take minutes per message; without this, the rest of a batch could
    outlive its lease and be claimed (and sent) by a second worker.
    """
    with write_transaction() as session:
        result = session.execute(
            update(OutboxMessage).where(_mine(message_id, worker)).values(claimed_until=now + lease)
        )
    return result.rowcount == 1


def mark_sent(message_id: int, worker: str, now: datetime) -> bool:
    """Record that the SMTP server took the message; False if the lease was lost meanwhile."""
    with write_transaction() as session:
        result = session.execute(
            update(OutboxMessage)
            .where(_mine(message_id, worker))
            .values(status=Delivery.SENT.value, sent_at=now, claimed_until=None, detail="")
        )
    return result.rowcount == 1


def mark_failed(
    message_id: int,
    worker: str,
    now: datetime,
    error: str,
    *,
    permanent: bool,
    max_attempts: int = MAX_ATTEMPTS,
) -> Delivery:
    """Schedule the next try after a growing pause, or give up; return the new status."""
    with write_transaction() as session:
        message = session.get(OutboxMessage, message_id)
        if message is None or message.claimed_by != worker or message.status != Delivery.PENDING:
            return Delivery(message.status) if message else Delivery.FAILED
        give_up = permanent or message.attempts >= max_attempts
        message.detail = error[:DETAIL_LIMIT]
        message.claimed_until = None
        if give_up:
            message.status = Delivery.FAILED.value
        else:
            message.due_at = now + backoff(message.attempts)
        return Delivery(message.status)


def skip(message_id: int, worker: str, why: str) -> None:
    with write_transaction() as session:
        session.execute(
            update(OutboxMessage)
            .where(_mine(message_id, worker))
            .values(status=Delivery.SKIPPED.value, claimed_until=None, detail=why)
        )


def backoff(attempts: int) -> timedelta:
    """1, 2, 4 ... minutes after the 1st, 2nd, 3rd ... failed try, at most an hour."""
    return min(FIRST_RETRY * 2 ** max(attempts - 1, 0), LONGEST_RETRY)


def still_true(message: OutboxMessage, now: datetime) -> bool:
    """Whether a reminder still describes a coming visit (not cancelled, moved or begun)."""
    appointment = db.session.get(Appointment, message.appointment_id)
    return (
        appointment is not None
        and appointment.status == Status.BOOKED
        and appointment.sequence == message.sequence
        and appointment.start_at > now
    )


def retry(message_ids: Sequence[int] | None, now: datetime) -> int:
    """Send failed messages again (all of them with None); return how many were queued."""
    condition = OutboxMessage.status == Delivery.FAILED.value
    if message_ids is not None:
        condition = condition & OutboxMessage.id.in_(message_ids)
    with write_transaction() as session:
        result = session.execute(
            update(OutboxMessage)
            .where(condition)
            .values(
                status=Delivery.PENDING.value,
                attempts=0,
                due_at=now,
                claimed_by=None,
                claimed_until=None,
            )
        )
    return result.rowcount


def discard_pending(why: str) -> int:
    """Mark every unsent message skipped (the demo's invented patients get no mail)."""
    with write_transaction() as session:
        result = session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.status == Delivery.PENDING.value)
            .values(status=Delivery.SKIPPED.value, detail=why)
        )
    return result.rowcount


def move_reminders(lead: timedelta, now: datetime) -> None:
    """Re-time unsent reminders to a new lead time, in the caller's transaction."""
    pending = db.session.scalars(
        select(OutboxMessage).where(
            OutboxMessage.event == Event.REMINDER.value,
            OutboxMessage.status == Delivery.PENDING.value,
            OutboxMessage.claimed_until.is_(None) | (OutboxMessage.claimed_until < now),
        )
    )
    for message in pending:
        due = reminder_due(message.start_at, lead)
        if lead and due > now:
            message.due_at = due
        else:
            message.status = Delivery.SKIPPED.value
            message.detail = "The reminder lead time changed."
