"""Messages waiting to be sent, written in the transaction of the change that causes them.

A row is a fact about one moment of an appointment's life (its times, therapist and SEQUENCE
then) for one recipient; the delivery worker renders and sends it later, so a booking never
exists without its invite and no invite leaves for a change that rolled back.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from booking.models.base import Base, one_of, utcnow


class Event(enum.StrEnum):
    BOOKED = "booked"
    RESCHEDULED = "rescheduled"
    CANCELLED = "cancelled"
    REMINDER = "reminder"
    ACCESS_LINK = "access_link"  # a one-time "My visits" link: about a contact, no appointment
    # About a course, each through one of its visits (the first booked; the last one held):
    COURSE_BOOKED = "course_booked"  # the summary of a course's visits, after their invites
    BOOK_NEXT = "book_next"  # after a session with no next one booked: "book your next visit"
    NEXT_TIMES = "next_times"  # reception's "send next times" to a course that lapsed


class Method(enum.StrEnum):
    """The iTIP method of the message's invite; reminders carry none."""

    REQUEST = "REQUEST"
    CANCEL = "CANCEL"
    NONE = ""


class Recipient(enum.StrEnum):
    PATIENT = "patient"
    THERAPIST = "therapist"


class Delivery(enum.StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"  # gave up: staff see it and may retry
    SKIPPED = "skipped"  # no longer true (a reminder for a moved visit) or demo data


class OutboxMessage(Base):
    __tablename__ = "outbox_message"
    __table_args__ = (
        CheckConstraint(one_of("event", Event), name="event_valid"),
        CheckConstraint(one_of("method", Method), name="method_valid"),
        CheckConstraint(one_of("recipient", Recipient), name="recipient_valid"),
        CheckConstraint(one_of("status", Delivery), name="status_valid"),
        CheckConstraint("attempts >= 0", name="attempts_non_negative"),
        CheckConstraint(
            "CASE WHEN event = 'access_link' "
            "THEN access_link_id IS NOT NULL AND appointment_id IS NULL "
            "ELSE access_link_id IS NULL AND appointment_id IS NOT NULL "
            "AND therapist_id IS NOT NULL AND service_id IS NOT NULL "
            "AND start_at IS NOT NULL AND end_at IS NOT NULL AND sequence IS NOT NULL END",
            name="about_one_thing",
        ),
        Index("ix_outbox_message_status_due_at", "status", "due_at"),
        Index("ix_outbox_message_appointment_id", "appointment_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # About an appointment, or (event `access_link`) about a contact's one-time link.
    appointment_id: Mapped[int | None] = mapped_column(ForeignKey("appointment.id"))
    access_link_id: Mapped[int | None] = mapped_column(
        ForeignKey("access_link.id", ondelete="CASCADE")
    )
    event: Mapped[str] = mapped_column(String(16))
    method: Mapped[str] = mapped_column(String(8), default=Method.NONE.value)
    recipient: Mapped[str] = mapped_column(String(16))
    to_name: Mapped[str] = mapped_column(String(120))
    to_address: Mapped[str] = mapped_column(String(254))
    # The appointment as this message describes it: the state right after the change.
    therapist_id: Mapped[int | None] = mapped_column(ForeignKey("therapist.id"))
    service_id: Mapped[int | None] = mapped_column(ForeignKey("service.id"))
    start_at: Mapped[datetime | None]
    end_at: Mapped[datetime | None]
    previous_start_at: Mapped[datetime | None]
    sequence: Mapped[int | None]
    message_id: Mapped[str] = mapped_column(String(255), unique=True)
    status: Mapped[str] = mapped_column(String(16), default=Delivery.PENDING.value)
    attempts: Mapped[int] = mapped_column(default=0)
    due_at: Mapped[datetime]
    # A worker's lease: until then no other worker takes the row (see booking.mail.outbox).
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_until: Mapped[datetime | None]
    detail: Mapped[str] = mapped_column(String(500), default="")  # the last error, or why skipped
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]


class CalendarFeed(Base):
    """A therapist's private subscription URL; a new secret kills the old URL."""

    __tablename__ = "calendar_feed"

    therapist_id: Mapped[int] = mapped_column(
        ForeignKey("therapist.id", ondelete="CASCADE"), primary_key=True
    )
    secret: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
