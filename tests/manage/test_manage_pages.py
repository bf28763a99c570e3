"""The manage link: view, .ics, reschedule and cancel, each change behind a POST confirm."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from pages import book, book_follow_up, csrf, links, slot_param, token_of
from sqlalchemy import select
from support import MONDAY, local

from booking.extensions import db
from booking.models import Appointment, AuditEvent

TUESDAY = MONDAY + timedelta(days=1)
NINE = local(TUESDAY, 9)


@pytest.fixture
def clinic(world):
    world.ims = world.make_therapist("Maya Chen")
    world.other = world.make_therapist("Ravi Patel")
    world.physio_only = world.make_therapist("Tom Berg", services=("physio",), ims=False)
    return world


@pytest.fixture
def token(client, clinic):
    return token_of(book(client, "assessment", NINE, therapist=str(clinic.ims)))


def appointment(app) -> Appointment:
    with app.app_context():
        return db.session.scalars(select(Appointment).order_by(Appointment.id)).first()


def test_the_manage_page_shows_the_appointment_and_its_choices(client, token):
    response = client.get(f"/manage/{token}")
    page = response.text
    assert response.status_code == 200
    assert "Tuesday, March 2, 2027, 9:00 a.m. (Pacific time)" in page and "Maya Chen" in page
    assert f'href="/manage/{token}/reschedule"' in page
    assert f'href="/manage/{token}/cancel"' in page
    assert "until Monday, March 1, 2027, 9:00 a.m. (Pacific time)" in page  # the 24-hour cut-off
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert "noindex" in response.headers["X-Robots-Tag"]


@pytest.mark.parametrize(
    "bad", ["x", "A" * 43, "A" * 42 + "!", "../../etc/passwd", "%00" * 5, "A" * 500]
)
def test_a_wrong_token_is_a_404_that_reveals_nothing(client, token, bad):
    for suffix in ("", "/confirmed", "/appointment.ics", "/reschedule", "/cancel"):
        response = client.get(f"/manage/{bad}{suffix}")
        assert response.status_code == 404
        assert "Tuesday" not in response.text and "Maya" not in response.text


def test_the_link_expires_a_month_after_the_visit(client, clock, token):
    clock.advance(days=30)
    assert client.get(f"/manage/{token}").status_code == 200
    clock.advance(days=2)
    assert client.get(f"/manage/{token}").status_code == 404
    assert client.get(f"/api/v1/bookings/{token}").status_code == 404


def test_inside_the_cutoff_the_page_says_to_call(client, clock, token):
    clock.advance(hours=2)  # now Monday 10:00: 23 hours before the visit
    page = client.get(f"/manage/{token}").text
    assert "too late to change this appointment online" in page
    assert 'href="tel:604-555-0100"' in page
    assert f"/manage/{token}/cancel" not in page
    for path in ("reschedule", "cancel"):
        response = client.get(f"/manage/{token}/{path}")
        assert response.status_code == 302 and response.headers["Location"] == f"/manage/{token}"


def test_a_past_appointment_is_shown_as_such(client, clock, token):
    clock.advance(days=2)
    page = client.get(f"/manage/{token}").text
    assert "This appointment has passed." in page and 'href="/book"' in page
    assert "Add to calendar" not in page


def test_opening_the_cancel_page_cancels_nothing(app, client, token):
    page = client.get(f"/manage/{token}/cancel").text
    assert "Cancel this appointment?" in page and "Yes, cancel it" in page
    assert appointment(app).status == "booked"


def test_cancelling_needs_the_post_and_records_the_reason(app, client, token):
    page = client.get(f"/manage/{token}/cancel").text
    no_csrf = client.post(f"/manage/{token}/cancel", data={"sequence": "0", "reason": "x"})
    assert no_csrf.status_code == 400 and appointment(app).status == "booked"
    data = {"csrf_token": csrf(page), "sequence": "0", "reason": "Feeling better"}
    response = client.post(f"/manage/{token}/cancel", data=data)
    assert response.status_code == 303
    cancelled = appointment(app)
    assert cancelled.status == "cancelled" and cancelled.cancel_reason == "Feeling better"
    assert cancelled.sequence == 1
    page = client.get(f"/manage/{token}").text
    assert "Your appointment has been cancelled." in page
    assert "This appointment was cancelled." in page and 'href="/book"' in page
    assert client.get(f"/manage/{token}/appointment.ics").status_code == 404
    with app.app_context():
        actions = db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
        assert actions[-1] == "cancelled"


def test_an_oversized_reason_is_refused_and_changes_nothing(app, client, token):
    page = client.get(f"/manage/{token}/cancel").text
    data = {"csrf_token": csrf(page), "sequence": "0", "reason": "r" * 501}
    response = client.post(f"/manage/{token}/cancel", data=data)
    assert response.status_code == 200
    assert "Field cannot be longer than 500 characters." in response.text
    assert appointment(app).status == "booked"


@pytest.mark.parametrize("sequence", ["abc", "-1", "", "1" * 12, "\uff11"])
def test_a_tampered_sequence_is_a_clear_400(app, client, token, sequence):
    page = client.get(f"/manage/{token}/cancel").text
    response = client.post(
        f"/manage/{token}/cancel", data={"csrf_token": csrf(page), "sequence": sequence}
    )
    assert response.status_code == 400
    assert "This form is not valid." in response.text
    assert appointment(app).status == "booked"


def test_a_stale_cancel_form_changes_nothing(app, client, token):
    page = client.get(f"/manage/{token}/cancel").text
    data = {"csrf_token": csrf(page), "sequence": "7"}
    response = client.post(f"/manage/{token}/cancel", data=data, follow_redirects=True)
    assert "changed after you opened the page" in response.text
    assert appointment(app).status == "booked"


def test_an_expired_form_says_so_plainly(app, client, token):
    response = client.post(f"/manage/{token}/cancel", data={"sequence": "0"})
    assert response.status_code == 400
    assert "nothing was sent" in response.text and "CSRF" not in response.text
    assert appointment(app).status == "booked"


def test_confirming_a_time_that_is_gone_offers_alternatives_at_once(client, token, clinic):
    token_of(book(client, "physio", local(TUESDAY, 14), therapist=str(clinic.ims), n=5))
    target = slot_param(local(TUESDAY, 14))
    page = client.get(f"/manage/{token}/reschedule/confirm?therapist={clinic.ims}&start={target}")
    assert "That time is not available any more." in page.text
    assert 'type="radio" name="start"' in page.text


def test_the_reschedule_week_offers_times_around_the_appointment_itself(client, token, clinic):
    page = client.get(f"/manage/{token}/reschedule").text
    offered = links(page, f"/manage/{token}/reschedule/confirm")
    starts = [re.search(r"start=(\w+)", url).group(1) for url in offered]
    # Its own time is excluded from what blocks: 09:15 (overlapping itself) is offered.
    assert slot_param(local(TUESDAY, 9, 15)) in starts
    assert all(f"therapist={clinic.ims}" in url for url in offered)
    assert "Ravi Patel" in page  # another therapist who offers the service
    assert "Tom Berg" not in page


def test_rescheduling_shows_a_confirm_step_then_moves(app, client, token, clinic):
    target = local(TUESDAY + timedelta(days=1), 14)
    url = f"/manage/{token}/reschedule/confirm?therapist={clinic.other}&start={slot_param(target)}"
    page = client.get(url).text
    assert "Move your appointment?" in page and "Wednesday, March 3, 2027, 2:00 p.m." in page
    assert appointment(app).start_at == NINE  # the GET moved nothing
    data = {
        "csrf_token": csrf(page),
        "sequence": "0",
        "therapist": str(clinic.other),
        "start": slot_param(target),
    }
    response = client.post(f"/manage/{token}/reschedule/confirm", data=data)
    assert response.status_code == 303
    moved = appointment(app)
    assert moved.start_at == target and moved.therapist_id == clinic.other
    assert moved.sequence == 1
    page = client.get(f"/manage/{token}").text
    assert "Your appointment has been moved" in page and "Ravi Patel" in page
    # The same form again is stale now, and changes nothing.
    again = client.post(
        f"/manage/{token}/reschedule/confirm", data=data | {"start": "20270305T1700Z"}
    )
    assert again.status_code == 303
    assert appointment(app).start_at == target


def test_a_taken_target_comes_back_with_alternatives(app, client, token, clinic):
    target = local(TUESDAY + timedelta(days=2), 14)  # the needling spacing after the assessment
    own = book_follow_up(client, app, target, therapist=str(clinic.ims), n=1)
    token_of(own)  # the patient's own follow-up, booked from My visits
    url = f"/manage/{token}/reschedule/confirm?therapist={clinic.ims}&start={slot_param(target)}"
    page = client.get(url).text
    data = {"csrf_token": csrf(page), "sequence": "0", "therapist": str(clinic.ims)}
    response = client.post(
        f"/manage/{token}/reschedule/confirm", data=data | {"start": slot_param(target)}
    )
    assert response.status_code == 409
    assert "That time is no longer available." in response.text
    assert 'type="radio" name="start"' in response.text
    assert appointment(app).start_at == NINE


@pytest.mark.parametrize("therapist", ["999", "abc", "physio_only"])
def test_a_tampered_therapist_is_refused(client, token, clinic, therapist):
    therapist = str(clinic.physio_only) if therapist == "physio_only" else therapist
    response = client.get(f"/manage/{token}/reschedule?therapist={therapist}")
    assert response.status_code == 404
    assert "cannot be booked for IMS initial assessment" in response.text


def test_the_ics_download_matches_the_appointment(app, client, token):
    response = client.get(f"/manage/{token}/appointment.ics")
    body = response.data
    assert response.status_code == 200
    assert response.mimetype == "text/calendar"
    assert "attachment" in response.headers["Content-Disposition"]
    assert b"\r\n" in body and b"\n" not in body.replace(b"\r\n", b"")
    text = body.decode().replace("\r\n ", "")
    booked = appointment(app)
    assert f"UID:{booked.calendar_uid}" in text
    assert "SEQUENCE:0" in text and "METHOD:PUBLISH" in text
    assert "DTSTART:20270302T170000Z" in text and "DTEND:20270302T180000Z" in text
    assert "STATUS:CONFIRMED" in text and "BEGIN:VALARM" in text
    assert f"/manage/{token}" in text  # how to change it, for the patient's own calendar
    for private in ("Pat Ient1", "patient1@example.com", "604-555-0199"):
        assert private not in text


def test_the_google_link_carries_no_token_and_no_patient(client, token):
    page = client.get(f"/manage/{token}").text
    google = next(h for h in links(page, "https://calendar.google.com/"))
    assert token not in google and "Ient" not in google and "patient1" not in google
    assert "dates=20270302T170000Z%2F20270302T180000Z" in google


def test_manage_posts_are_rate_limited(app, client, token):
    app.config["BOOKING_RATE_LIMIT"] = "1 per minute"
    page = client.get(f"/manage/{token}/cancel").text
    data = {"csrf_token": csrf(page), "sequence": "9"}
    assert client.post(f"/manage/{token}/cancel", data=data).status_code == 303
    assert client.post(f"/manage/{token}/cancel", data=data).status_code == 429


def test_confirming_alternatives_without_choosing_one_offers_them_again(app, client, token, clinic):
    page = client.get(f"/manage/{token}/cancel").text  # any form of the session has the token
    form = {"csrf_token": csrf(page), "sequence": "0", "therapist": str(clinic.ims)}
    response = client.post(
        f"/manage/{token}/reschedule/confirm", data=form | {"wanted": slot_param(NINE)}
    )
    assert response.status_code == 200
    assert "Choose one of the times below." in response.text
    assert 'type="radio" name="start"' in response.text
    assert appointment(app).start_at == NINE
