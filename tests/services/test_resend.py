"""Resending a visit's confirmation: the same invite (UID, SEQUENCE), a new message."""

from __future__ import annotations

import email
from email import policy

import pytest
from icalendar import Calendar
from records_support import ACTOR, TUESDAY, book, trail
from sqlalchemy import select
from support import NOW, details, local

from booking.extensions import db
from booking.mail.compose import compose
from booking.models import Appointment, OutboxMessage
from booking.services import booking, resend
from booking.services.errors import NotChangeable, NotFound


@pytest.fixture
def maya(world):
    return world.make_therapist("Maya Chen", email="maya@clinic.example")


def invites(app, appointment_id):
    """The patient's invites about the visit, as sent: (Message-ID, UID, SEQUENCE, METHOD)."""
    with app.app_context():
        rows = db.session.scalars(
            select(OutboxMessage)
            .where(
                OutboxMessage.appointment_id == appointment_id,
                OutboxMessage.recipient == "patient",
                OutboxMessage.method != "",
            )
            .order_by(OutboxMessage.id)
        ).all()
        found = []
        for row in rows:
            message = email.message_from_bytes(compose(row, now=NOW).data, policy=policy.SMTP)
            part = next(p for p in message.walk() if p.get_content_type() == "text/calendar")
            event = Calendar.from_ical(part.get_payload(decode=True)).walk("VEVENT")[0]
            found.append((message["Message-ID"], str(event["UID"]), int(event["SEQUENCE"]),
                          part.get_param("method"), message["To"]))  # fmt: skip
        return found


def resend_of(app, appointment_id, now=NOW):
    with app.app_context():
        return resend.resend_confirmation(appointment_id, actor=ACTOR, now=now)


def test_the_same_uid_and_sequence_in_a_new_message(app, maya):
    visit = book(app, local(TUESDAY, 9), details(1)).appointment
    message_id = resend_of(app, visit.id)
    first, again = invites(app, visit.id)
    assert again[0] == message_id != first[0]
    assert again[1:] == first[1:] == (visit.calendar_uid, 0, "REQUEST", again[4])
    assert "patient1@example.com" in again[4]
    action, entity_id, _, after = trail(app, "appointment")[-1]
    assert (action, entity_id) == ("confirmation_resent", visit.id)
    assert after == {"sequence": 0, "calendar_uid": visit.calendar_uid, "message_id": message_id}
    with app.app_context():  # only the patient's copy: the therapist's calendar is right
        therapist_rows = db.session.scalars(
            select(OutboxMessage).where(OutboxMessage.recipient == "therapist")
        ).all()
    assert len(therapist_rows) == 1


def test_after_a_move_the_resent_invite_carries_the_moved_sequence(app, maya):
    visit = book(app, local(TUESDAY, 9), details(1)).appointment
    with app.app_context():
        booking.reschedule(visit.id, local(TUESDAY, 13), now=NOW, actor=ACTOR,
                           enforce_cutoff=False)  # fmt: skip
    resend_of(app, visit.id)
    *_, moved, again = invites(app, visit.id)
    assert moved[2] == again[2] == 1 and moved[1] == again[1] == visit.calendar_uid
    assert moved[0] != again[0]


def test_a_cancelled_or_past_visit_has_nothing_to_resend(app, maya, clock):
    cancelled = book(app, local(TUESDAY, 9), details(1)).appointment
    with app.app_context():
        booking.cancel(cancelled.id, now=NOW, reason="", actor=ACTOR, enforce_cutoff=False)
    before = invites(app, cancelled.id)
    with pytest.raises(NotChangeable, match="cancelled"):
        resend_of(app, cancelled.id)
    assert invites(app, cancelled.id) == before
    later = book(app, local(TUESDAY, 13), details(2)).appointment
    with app.app_context():
        end = db.session.get(Appointment, later.id).end_at
    with pytest.raises(NotChangeable, match="over"):
        resend_of(app, later.id, now=end)
    with pytest.raises(NotFound):
        resend_of(app, 999)
    assert [t[0] for t in trail(app, "appointment")].count("confirmation_resent") == 0
