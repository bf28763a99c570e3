"""The transactional outbox, writing side: the messages a change causes, in its transaction.

`record` runs inside the transaction of a booking, reschedule or cancel and adds one row per
recipient (patient, therapist, and on a move between therapists the one who lost the visit),
plus the reminder. If the change rolls back, so do its messages. The worker that takes and
sends the rows is `booking.mail` (`booking.mail.outbox` says why none is sent twice); the
services never import it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import select, update

from booking.extensions import db
from booking.inserts import insert_rows
from booking.models import (
    Delivery,
    Event,
    Method,
    OutboxMessage,
    Patient,
    Recipient,
)
from booking.services.catalog import Catalog


class Recorded(Protocol):
    """An appointment as its messages need it: the ORM's, or the booking service's `Visit`."""

    @property
    def id(self) -> int: ...
    @property
    def patient_id(self) -> int: ...
    @property
    def therapist_id(self) -> int: ...
    @property
    def service_id(self) -> int: ...
    @property
    def start_at(self) -> datetime: ...
    @property
    def end_at(self) -> datetime: ...
    @property
    def sequence(self) -> int: ...
    @property
    def calendar_uid(self) -> str: ...


@dataclass(frozen=True, slots=True)
class Placement:
    """Where and when an appointment was, for the messages about a move."""

    therapist_id: int
    start_at: datetime
    end_at: datetime

    @classmethod
    def of(cls, appointment: Recorded) -> Placement:
        return cls(appointment.therapist_id, appointment.start_at, appointment.end_at)


def record(
    event: Event,
    appointment: Recorded,
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
    if event == Event.RESCHEDULED:
        _skip_reminders(
            appointment.id, "The appointment moved: a reminder for the new time follows."
        )
    elif event == Event.CANCELLED:
        _skip_reminders(appointment.id, "The appointment was cancelled.")
    insert_rows(
        OutboxMessage.__table__,
        messages(event, appointment, catalog=catalog, now=now, before=before, contact=contact),
    )


def messages(
    event: Event,
    appointment: Recorded,
    *,
    catalog: Catalog,
    now: datetime,
    before: Placement | None = None,
    contact: tuple[str, str] | None = None,
) -> list[dict[str, object]]:
    """The outbox rows a change causes (`record` inserts them; a course, all its visits' at
    once)."""
    if contact is None:
        patient = db.session.get_one(Patient, appointment.patient_id)
        contact = patient.addressee
    method = Method.CANCEL if event == Event.CANCELLED else Method.REQUEST
    previous = before.start_at if before and before.start_at != appointment.start_at else None
    now_at = Placement.of(appointment)
    was = before or now_at  # only a move has a former therapist, and a move has `before`
    former_id = before.therapist_id if before is not None else None
    recipients = [
        (recipient, name, address, Method.CANCEL if former else method,
         was if former else now_at)
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
    if event in (Event.BOOKED, Event.RESCHEDULED):
        lead = catalog.clinic.reminder_lead
        due = reminder_due(appointment.start_at, lead)
        # Booked inside the lead time: the confirmation itself is the reminder.
        if lead and due > now:
            rows.append(
                _row(appointment, Event.REMINDER, Method.NONE, Recipient.PATIENT, *contact,
                     now_at, now=now, due=due)
            )  # fmt: skip
    return rows


def record_again(appointment: Recorded, *, contact: tuple[str, str], now: datetime) -> str:
    """Queue the patient's confirmation again, as the invite stands: return its Message-ID.

    The same UID and SEQUENCE as the invite the patient holds (so a calendar updates that
    event, never adds a second), in a new message with a Message-ID of its own.
    """
    placement = Placement.of(appointment)
    row = _row(appointment, Event.BOOKED, Method.REQUEST, Recipient.PATIENT, *contact,
               placement, now=now, due=now)  # fmt: skip
    insert_rows(OutboxMessage.__table__, [row])
    return str(row["message_id"])


def record_course_email(
    event: Event, appointment: Recorded, *, contact: tuple[str, str], now: datetime
) -> None:
    """Queue a course's email to the patient only, with no invite, about one of its visits.

    `course_booked`: the summary of a booked course, about its first visit, after the
    visits' own invites (each its own message, so every calendar holds one event per visit).
    `book_next` ("book your next visit") and `next_times` (reception's): about the person's
    last held visit; the times are chosen as it is sent.
    """
    row = course_email(event, appointment, contact=contact, now=now)
    insert_rows(OutboxMessage.__table__, [row])


def course_email(
    event: Event, appointment: Recorded, *, contact: tuple[str, str], now: datetime
) -> dict[str, object]:
    """The row `record_course_email` inserts."""
    assert event in (Event.COURSE_BOOKED, Event.BOOK_NEXT, Event.NEXT_TIMES)
    return _row(appointment, event, Method.NONE, Recipient.PATIENT, *contact,
                Placement.of(appointment), now=now, due=now)  # fmt: skip


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


def record_access_link(
    link_id: int, name: str, address: str, *, domain: str, now: datetime
) -> None:
    """Queue the email that carries a one-time access link, in the caller's transaction."""
    row = _queued(Event.ACCESS_LINK, Method.NONE, Recipient.PATIENT, name, address,
                  domain=domain, now=now, due=now)  # fmt: skip
    insert_rows(OutboxMessage.__table__, [row | {"access_link_id": link_id}])


def _row(
    appointment: Recorded,
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
    return _queued(event, method, recipient, name, address, domain=domain, now=now, due=due) | {
        "appointment_id": appointment.id,
        "therapist_id": placement.therapist_id,
        "service_id": appointment.service_id,
        "start_at": placement.start_at,
        "end_at": placement.end_at,
        "previous_start_at": previous,
        "sequence": appointment.sequence,
    }


def _queued(
    event: Event,
    method: Method,
    recipient: Recipient,
    name: str,
    address: str,
    *,
    domain: str,
    now: datetime,
    due: datetime,
) -> dict[str, object]:
    """What every outbox row holds: what it is, to whom, its Message-ID, its delivery state."""
    return {
        "event": event.value,
        "method": method.value,
        "recipient": recipient.value,
        "to_name": name,
        "to_address": address,
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
        assert message.start_at is not None  # a reminder is about an appointment
        due = reminder_due(message.start_at, lead)
        if lead and due > now:
            message.due_at = due
        else:
            message.status = Delivery.SKIPPED.value
            message.detail = "The reminder lead time changed."
