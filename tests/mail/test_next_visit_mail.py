""" "Book your next visit", through a real SMTP server: sent after a completed visit with nothing
booked after it, its link opens the visit's page on the time and one tap there books it; a
next visit booked before it goes out skips it."""

from __future__ import annotations

import re
from datetime import timedelta

from inbox import deliver
from pages import csrf, slot_param
from sqlalchemy import select
from support import MONDAY, NOW, details, local

from booking.extensions import db
from booking.models import Appointment, Course, Delivery, Event, OutboxMessage
from booking.services import booking, checkin
from booking.services.booking import BookingRequest
from booking.services.checkin import Mark
from booking.services.courses import dropoff

TUESDAY = MONDAY + timedelta(days=1)
NEXT = local(TUESDAY + timedelta(days=7), 10)
LINK = re.compile(r"https://clinic\.test(/manage/[A-Za-z0-9_-]{43}/next\?start=[0-9TZ]+)")


def book(app, start, therapist, n=1):
    with app.app_context():
        request = BookingRequest("physio", start, details(n), therapist_id=therapist)
        return booking.book(request, now=NOW).appointment


def complete(app, clock, visit):
    clock.now = local(TUESDAY, 11)
    with app.app_context():
        checkin.mark(visit.id, Mark.COMPLETED, actor="desk", now=clock.now)


def rows(app, event=Event.BOOK_NEXT):
    with app.app_context():
        found = db.session.scalars(
            select(OutboxMessage).where(OutboxMessage.event == event.value)
        ).all()
        db.session.expunge_all()
        return found


def test_the_email_after_a_visit_books_the_next_in_one_tap(clinic, mail_app, smtp, clock, client):
    visit = book(mail_app, local(TUESDAY, 10), clinic.maya)
    deliver(mail_app)  # the booking's own messages
    smtp.inbox.clear()
    complete(mail_app, clock, visit)
    [row] = rows(mail_app)
    assert (row.appointment_id, row.recipient, row.method) == (visit.id, "patient", "")
    deliver(mail_app)
    [email] = smtp.inbox
    assert email.message["Subject"] == "Book your next visit: Physiotherapy assessment"
    assert email.to == "patient1@example.com" and email.calendar_part() is None
    text = email.text()
    assert "Tuesday, March 9, 2027, 10:00 a.m." in text and "Maya Chen" in text
    [path] = set(LINK.findall(text))
    assert path.endswith(slot_param(NEXT)) and path.replace("&", "&amp;") in email.html()
    page = client.get(path)
    assert page.status_code == 200 and "Book it" in page.text
    form = re.search(r'name="sequence" value="(\d+)".*?name="start" value="([0-9TZ]+)"',
                     page.text, re.S)  # fmt: skip
    response = client.post(
        path.partition("?")[0],
        data={"csrf_token": csrf(page.text), "sequence": form.group(1), "start": form.group(2)},
    )
    assert response.status_code == 303
    with mail_app.app_context():
        booked = db.session.scalars(select(Appointment).where(Appointment.start_at == NEXT)).one()
        assert booked.patient_id == visit.patient_id and booked.therapist_id == clinic.maya
    assert rows(mail_app)[0].status == Delivery.SENT.value


def test_no_email_when_a_next_visit_is_booked(clinic, mail_app, clock):
    visit = book(mail_app, local(TUESDAY, 10), clinic.maya)
    book(mail_app, NEXT, clinic.maya)  # the same patient, booked ahead
    complete(mail_app, clock, visit)
    assert rows(mail_app) == []


def test_a_next_visit_booked_before_sending_skips_the_email(clinic, mail_app, smtp, clock):
    visit = book(mail_app, local(TUESDAY, 10), clinic.maya)
    complete(mail_app, clock, visit)
    book(mail_app, NEXT, clinic.maya)  # at the desk, before the worker's next round
    deliver(mail_app)
    [row] = rows(mail_app)
    assert row.status == Delivery.SKIPPED.value and "next visit was booked" in row.detail
    assert not any("Book your next visit" in m.message["Subject"] for m in smtp.inbox)


def test_next_times_carry_three_one_tap_links(clinic, world, mail_app, smtp, clock, client):
    visit = book(mail_app, local(TUESDAY, 10), clinic.maya)
    course = Course(patient_id=visit.patient_id, therapist_id=clinic.maya, created_by="desk",
                    service_id=world.services["physio"].id)  # fmt: skip
    world.add(course)
    with mail_app.app_context():  # the visit is the course's first session
        db.session.get(Appointment, visit.id).course_id = course.id
        db.session.commit()
    complete(mail_app, clock, visit)
    clock.now = local(TUESDAY + timedelta(days=20), 8)
    with mail_app.app_context():
        dropoff.send_next_times(course.id, actor="staff:1", now=clock.now)
    smtp.inbox.clear()
    deliver(mail_app)
    [email] = [m for m in smtp.inbox if m.message["Subject"].startswith("Your next times")]
    assert email.message["Subject"] == "Your next times: Physiotherapy assessment"
    assert email.calendar_part() is None and "It has been a while" in email.text()
    links = LINK.findall(email.text())
    assert len(links) == 3 == len(set(links))
    opened = client.get(links[1])  # the patient picks the second time
    assert opened.status_code == 200 and "Book it" in opened.text
    fields = dict(re.findall(r'name="(sequence|start)" value="([^"]*)"', opened.text))
    response = client.post(
        links[1].partition("?")[0], data={"csrf_token": csrf(opened.text), **fields}
    )
    assert response.status_code == 303
    with mail_app.app_context():
        booked = db.session.scalars(
            select(Appointment)
            .where(Appointment.patient_id == visit.patient_id)
            .order_by(Appointment.start_at)
        ).all()[-1]
        assert slot_param(booked.start_at) == links[1].rpartition("=")[2]
        assert booked.course_id == course.id
