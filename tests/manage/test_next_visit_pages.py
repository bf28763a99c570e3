"""One-tap rebooking on the manage page, the confirmation and My visits: one confirm books it."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from pages import csrf, open_my_visits, slot_param
from sqlalchemy import select
from support import MONDAY, NOW, details, local

from booking.extensions import db
from booking.models import Appointment, Course, Source
from booking.services import booking, checkin
from booking.services.booking import BookingRequest
from booking.services.checkin import Mark

TUESDAY = MONDAY + timedelta(days=1)
NEXT = local(TUESDAY + timedelta(days=7), 10)  # a week on, same time
FORM = re.compile(r'<form method="post" action="(/manage/[^"]+/next)"[^>]*>(.*?)</form>', re.S)


@pytest.fixture
def maya(world):
    return world.make_therapist("Maya Chen")


def book(app, start, therapist, n=1, **kw):
    with app.app_context():
        request = BookingRequest("physio", start, details(n), therapist_id=therapist, **kw)
        return booking.book(request, now=NOW)


@pytest.fixture
def held(app, maya, clock):
    """Patient 1's visit on Tuesday at 10:00, completed; now is Tuesday 11:00."""
    booked = book(app, local(TUESDAY, 10), maya)
    clock.now = local(TUESDAY, 11)
    with app.app_context():
        checkin.mark(booked.appointment.id, Mark.COMPLETED, actor="desk", now=clock.now)
    return booked


def offer_form(html):
    """The one-tap form of a page: its action and fields."""
    match = FORM.search(html)
    assert match, "no one-tap rebooking form"
    fields = dict(re.findall(r'name="([a-z_]+)" value="([^"]*)"', match.group(2)))
    return match.group(1), {"csrf_token": csrf(html)} | fields


def visits_of(app, patient_id):
    with app.app_context():
        return db.session.scalars(
            select(Appointment)
            .where(Appointment.patient_id == patient_id)
            .order_by(Appointment.start_at)
        ).all()


def test_the_manage_page_offers_the_next_visit_and_one_tap_books_it(client, app, held, maya):
    page = client.get(f"/manage/{held.manage_token}").text
    assert "Book your next visit" in page
    assert "Tuesday, March 9, 2027, 10:00 a.m." in page and "with Maya Chen" in page
    action, fields = offer_form(page)
    assert fields["start"] == slot_param(NEXT) and fields["sequence"] == "0"
    response = client.post(action, data=fields)
    assert response.status_code == 303
    new = re.fullmatch(r"/manage/([A-Za-z0-9_-]{43})/confirmed", response.headers["Location"])
    _, second = visits_of(app, held.appointment.patient_id)
    assert (second.start_at, second.therapist_id, second.source) == (NEXT, maya, Source.ONLINE)
    assert second.status == "booked" and second.course_id is None
    confirmed = client.get(f"/manage/{new.group(1)}/confirmed").text
    assert "You are booked" in confirmed
    assert "Book your next visit" not in confirmed  # a visit is booked: nothing more to offer


def test_a_double_submit_books_once(client, app, held):
    action, fields = offer_form(client.get(f"/manage/{held.manage_token}").text)
    first = client.post(action, data=fields)
    again = client.post(action, data=fields)
    assert first.status_code == again.status_code == 303
    assert first.headers["Location"] == again.headers["Location"]
    assert len(visits_of(app, held.appointment.patient_id)) == 2


def test_a_stale_form_books_nothing_and_offers_the_times_now(client, app, held):
    action, fields = offer_form(client.get(f"/manage/{held.manage_token}").text)
    response = client.post(action, data=fields | {"sequence": "3"})
    assert response.status_code == 409
    assert "This visit changed after the page was shown" in response.text
    assert 'name="start"' in response.text  # the times as they are now
    assert len(visits_of(app, held.appointment.patient_id)) == 1


@pytest.mark.parametrize(
    "tampered",
    [{"start": "tomorrow"}, {"start": "20271399T9999Z"}, {"sequence": "-1"}, {"csrf_token": "x"}],
)
def test_a_tampered_form_is_refused_and_books_nothing(client, app, held, tampered):
    action, fields = offer_form(client.get(f"/manage/{held.manage_token}").text)
    response = client.post(action, data=fields | tampered)
    assert response.status_code == 400
    assert len(visits_of(app, held.appointment.patient_id)) == 1


def test_a_time_taken_meanwhile_gives_the_nearest_times(client, app, held, maya):
    action, fields = offer_form(client.get(f"/manage/{held.manage_token}").text)
    book(app, NEXT, maya, n=2)  # another patient takes it while the page is open
    response = client.post(action, data=fields)
    assert response.status_code == 409
    assert "no longer available" in response.text
    choices = re.findall(r'name="start" id="start-\d+" value="([0-9TZ]+)"', response.text)
    assert choices and slot_param(NEXT) not in choices
    assert len(visits_of(app, held.appointment.patient_id)) == 1
    chosen = client.post(
        action, data={**fields, "start": choices[0], "csrf_token": csrf(response.text)}
    )
    assert chosen.status_code == 303
    assert len(visits_of(app, held.appointment.patient_id)) == 2


def test_an_emailed_times_link_opens_one_confirm(client, app, held, maya):
    url = f"/manage/{held.manage_token}/next?start={slot_param(NEXT)}"
    page = client.get(url)
    assert page.status_code == 200 and "Tuesday, March 9, 2027, 10:00 a.m." in page.text
    assert len(visits_of(app, held.appointment.patient_id)) == 1  # opening it books nothing
    action, fields = offer_form(page.text)
    assert client.post(action, data=fields).status_code == 303
    assert visits_of(app, held.appointment.patient_id)[-1].start_at == NEXT
    # The same link once the visit is booked: nothing more to book, and it says when.
    again = client.get(url)
    assert again.status_code == 409 and "Your next visit is on Tuesday, March 9" in again.text


def test_an_emailed_time_taken_since_offers_the_nearest(client, app, held, maya):
    book(app, NEXT, maya, n=2)
    page = client.get(f"/manage/{held.manage_token}/next?start={slot_param(NEXT)}").text
    assert "That time is not available any more." in page
    assert re.search(r'name="start" id="start-0" value="[0-9TZ]+"', page)


def test_my_visits_offers_the_next_visit_of_each_person(client, app, held):
    page = open_my_visits(client, app, "patient1@example.com")
    assert "Book your next visit" in page and "Tuesday, March 9, 2027, 10:00 a.m." in page
    action, fields = offer_form(page)
    assert client.post(action, data=fields).status_code == 303
    assert visits_of(app, held.appointment.patient_id)[-1].start_at == NEXT
    assert "Book your next visit" not in client.get("/my").text


def test_the_confirmation_of_a_course_session_offers_the_one_after(client, app, world, maya):
    first = book(app, local(TUESDAY, 10), maya)
    person = first.appointment.patient_id
    course = Course(patient_id=person, therapist_id=maya, service_id=world.services["physio"].id,
                    sessions=4, cadence_days=7, created_by="desk")  # fmt: skip
    world.add(course)
    with app.app_context():
        session = booking.book(
            BookingRequest("physio", NEXT, person_id=person, therapist_id=maya,
                           course_id=course.id, source=Source.STAFF),
            now=NOW, actor="desk",
        )  # fmt: skip
    page = client.get(f"/manage/{session.manage_token}/confirmed").text
    assert "Book your next visit" in page and "Tuesday, March 16, 2027, 10:00 a.m." in page
    action, fields = offer_form(page)
    assert client.post(action, data=fields).status_code == 303
    assert [v.course_id for v in visits_of(app, person)] == [None, course.id, course.id]


def test_no_offer_while_a_visit_is_booked(client, held, app, maya):
    book(app, local(TUESDAY + timedelta(days=10), 10), maya)  # patient 1, booked ahead
    assert "Book your next visit" not in client.get(f"/manage/{held.manage_token}").text
