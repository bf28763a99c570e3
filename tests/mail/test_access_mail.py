"""The one-time link's email, through a real SMTP server: it carries a link that works once,
and a link that died before the worker reached it is never sent."""

from __future__ import annotations

import re
from datetime import timedelta

from inbox import deliver
from sqlalchemy import select
from support import MONDAY, NOW, details, local

from booking.extensions import db
from booking.models import AccessLink, Delivery, Event, OutboxMessage
from booking.services import access, booking
from booking.services.booking import BookingRequest

ANN = details(1, name="Ann Gill", email="ann@example.com")
LINK = re.compile(r"https://clinic\.test/my/([A-Za-z0-9_\-.]+)")


def _ann_on_record(app, clinic) -> None:
    request = BookingRequest("physio", local(MONDAY + timedelta(days=1), 9), ANN)
    with app.app_context():
        booking.book(request, now=NOW)


def _link_message(app) -> OutboxMessage:
    with app.app_context():
        row = db.session.scalars(
            select(OutboxMessage).where(OutboxMessage.event == Event.ACCESS_LINK.value)
        ).one()
        db.session.expunge(row)
        return row


def test_the_link_arrives_and_opens_the_household_once(clinic, mail_app, smtp, clock):
    _ann_on_record(mail_app, clinic)
    with mail_app.app_context():
        access.request_link("ANN@example.com", now=clock.now)
    deliver(mail_app)
    [email] = [m for m in smtp.inbox if "link to your visits" in m.message["Subject"]]
    assert email.to == "ann@example.com"
    assert email.calendar_part() is None  # a link, not an invite
    [token] = set(LINK.findall(email.text()))
    assert token in email.html()
    with mail_app.app_context():
        stored = db.session.scalars(select(AccessLink)).one()
        assert token not in (stored.token_hash, stored.nonce)
        contact = access.redeem(token, now=clock.now)
        assert contact == stored.contact_id
    assert _link_message(mail_app).status == Delivery.SENT.value


def test_a_link_that_expired_before_sending_is_skipped(clinic, mail_app, smtp, clock):
    _ann_on_record(mail_app, clinic)
    smtp.stop()  # the server is down while the link ages
    with mail_app.app_context():
        access.request_link(ANN.email, now=clock.now)
    deliver(mail_app)
    smtp.start()
    clock.advance(minutes=30)
    deliver(mail_app)
    assert not [m for m in smtp.inbox if "link to your visits" in m.message["Subject"]]
    message = _link_message(mail_app)
    assert message.status == Delivery.SKIPPED.value
    assert message.detail == "The link expired or was used before it could be sent."
