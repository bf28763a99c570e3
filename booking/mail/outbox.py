"""The transactional outbox, taking side: what the worker claims, sends and marks.

The rows are written by `booking.services.outbox.record`, in the transaction of the change
that causes them.

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

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import ColumnElement, CursorResult, Result, and_, exists, select, update
from sqlalchemy.orm import aliased

from booking.database import write_transaction
from booking.extensions import db
from booking.models import Appointment, Delivery, Event, OutboxMessage, Status
from booking.services.courses.next_visit import coming_visit

LEASE = timedelta(minutes=10)  # longer than a batch can take to send (see delivery.BATCH)
MAX_ATTEMPTS = 36  # with pauses of up to an hour: about a day and a half of outage
FIRST_RETRY = timedelta(minutes=1)
LONGEST_RETRY = timedelta(hours=1)
DETAIL_LIMIT = 500


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


def _mine(message_id: int, worker: str) -> ColumnElement[bool]:
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
    return _changed(result) == 1


def mark_sent(message_id: int, worker: str, now: datetime) -> bool:
    """Record that the SMTP server took the message; False if the lease was lost meanwhile."""
    with write_transaction() as session:
        result = session.execute(
            update(OutboxMessage)
            .where(_mine(message_id, worker))
            .values(status=Delivery.SENT.value, sent_at=now, claimed_until=None, detail="")
        )
    return _changed(result) == 1


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
    return min(FIRST_RETRY * (1 << max(attempts - 1, 0)), LONGEST_RETRY)


# Why a message that is no longer true is skipped, for the events that can stop being true.
NO_LONGER_TRUE = {
    Event.REMINDER.value: "The appointment was cancelled, moved or has begun.",
    Event.BOOK_NEXT.value: "A next visit was booked before the email could be sent.",
    Event.NEXT_TIMES.value: "A next visit was booked before the email could be sent.",
}


def still_true(message: OutboxMessage, now: datetime) -> bool:
    """Whether a reminder still describes a coming visit (not cancelled, moved or begun).

    "Book your next visit" and "next times" stay true while the person has no visit booked.
    """
    appointment = db.session.get(Appointment, message.appointment_id)
    if message.event in (Event.BOOK_NEXT, Event.NEXT_TIMES):
        return appointment is not None and coming_visit(appointment.patient_id, now) is None
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
    return _changed(result)


def discard_pending(why: str) -> int:
    """Mark every unsent message skipped (the demo's invented patients get no mail)."""
    with write_transaction() as session:
        result = session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.status == Delivery.PENDING.value)
            .values(status=Delivery.SKIPPED.value, detail=why)
        )
    return _changed(result)


def _changed(result: Result[Any]) -> int:
    """How many rows an UPDATE changed."""
    # A DML statement's result is a CursorResult; Session.execute's types say only Result.
    return cast(CursorResult[Any], result).rowcount
