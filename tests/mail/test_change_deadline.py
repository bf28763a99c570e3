"""Every patient email says until when online changes are possible, read when it is sent;
past that it gives the phone number instead of the link. The default reminder comes first."""

from __future__ import annotations

from datetime import timedelta

from inbox import deliver
from support import MONDAY, local
from test_invites import NEXT_TUESDAY, book

from booking.extensions import db
from booking.models import Clinic

TUESDAY = MONDAY + timedelta(days=1)
TEN = local(MONDAY, 10)
PHONE = "604-555-0100"


def patient_mail(smtp):
    return [m for m in smtp.inbox if m.to == "patient1@example.com"]


def test_a_booking_inside_the_cutoff_mailed_at_once_offers_the_link(clinic, mail_app, smtp, clock):
    clock.now = TEN
    book(mail_app, local(TUESDAY, 9), service="physio", therapist_id=clinic.maya)
    deliver(mail_app)
    (sent,) = patient_mail(smtp)
    assert "https://clinic.test/manage/" in sent.text()
    assert "Changes online are possible until" in sent.text()
    assert "Reschedule or cancel" in sent.html()
    assert "too late to change" not in sent.text()
    invite = str(sent.event()["description"])
    assert "online until" in invite and "https://clinic.test/manage/" in invite


def test_sent_after_the_deadline_it_gives_the_phone_not_the_link(clinic, mail_app, smtp, clock):
    clock.now = TEN
    book(mail_app, local(TUESDAY, 9), service="physio", therapist_id=clinic.maya)
    clock.advance(minutes=20)  # the mail server was down past the 15 minutes' grace
    deliver(mail_app)
    (sent,) = patient_mail(smtp)
    for body in (sent.text(), sent.html()):
        assert "/manage/" not in body
        assert "too late to change this appointment online" in body
        assert PHONE in body
    assert "Reschedule or cancel" not in sent.html()
    invite = str(sent.event()["description"])  # the invite too: the phone, not the link
    assert "/manage/" not in invite and PHONE in invite


def test_the_default_reminder_comes_while_changes_are_open(clinic, mail_app, smtp, clock):
    with mail_app.app_context():
        settings = db.session.get(Clinic, 1)
        assert settings.reminder_lead_minutes > settings.cancel_cutoff_minutes
    start = local(NEXT_TUESDAY, 9)
    book(mail_app, start, service="physio", therapist_id=clinic.maya)
    deliver(mail_app)
    smtp.inbox.clear()
    clock.now = start - timedelta(hours=48)
    assert deliver(mail_app).sent == 1
    (reminder,) = smtp.inbox
    assert reminder.message["Subject"].startswith("Reminder:")
    assert "https://clinic.test/manage/" in reminder.text()
    assert "Changes online are possible until" in reminder.text()


def test_a_reminder_at_the_cutoff_gives_the_phone(clinic, mail_app, smtp, clock):
    runner = mail_app.test_cli_runner()
    result = runner.invoke(
        args=["clinic", "set", "reminder_lead_minutes", "1440", "--short-reminder-ok"]
    )
    assert result.exit_code == 0, result.output
    start = local(NEXT_TUESDAY, 9)
    book(mail_app, start, service="physio", therapist_id=clinic.maya)
    deliver(mail_app)
    smtp.inbox.clear()
    clock.now = start - timedelta(hours=24) + timedelta(minutes=1)  # the worker runs a bit late
    assert deliver(mail_app).sent == 1
    (reminder,) = smtp.inbox
    for body in (reminder.text(), reminder.html()):
        assert "/manage/" not in body
        assert "too late to change this appointment online" in body and PHONE in body
