"""The details form: booking through it, every refusal, and what is kept when one happens."""

from __future__ import annotations

import logging
import re
from datetime import timedelta

import pytest
from pages import (
    book,
    book_follow_up,
    book_for,
    csrf,
    details,
    open_my_visits,
    screening,
    slot_param,
    token_of,
)
from sqlalchemy import func, select
from support import BORN, MONDAY, local

from booking.extensions import db
from booking.models import QUESTIONS, Appointment, Contact, Patient, Screening

TUESDAY = MONDAY + timedelta(days=1)
NINE = local(TUESDAY, 9)


@pytest.fixture
def clinic(world):
    world.ims = world.make_therapist("Maya Chen")
    world.physio_only = world.make_therapist("Tom Berg", services=("physio",), ims=False)
    return world


def count(app, model=Appointment) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def details_url(service="assessment", therapist="any", start=NINE) -> str:
    return f"/book/{service}/details?therapist={therapist}&start={slot_param(start)}"


def test_the_details_page_summarises_the_choice(client, clinic):
    page = client.get(details_url(therapist=str(clinic.ims))).text
    assert "IMS initial assessment (60 minutes)" in page
    assert "Maya Chen" in page
    assert "Tuesday, March 2, 2027, 9:00 a.m. (Pacific time)" in page
    assert 'name="start" value="20270302T1700Z"' in page


def test_screening_is_asked_for_the_assessment_only(client, clinic):
    assessment = client.get(details_url()).text
    assert assessment.count('<fieldset class="yes-no"') == len(QUESTIONS)
    assert "blood thinners" in assessment and 'name="consent"' in assessment
    assert re.search(r'<input[^>]*name="consent"[^>]*required', assessment)  # its validator
    physio = client.get(details_url("physio")).text
    assert "blood thinners" not in physio and 'name="consent"' not in physio


def test_booking_an_assessment_stores_it_with_its_screening(app, client, clinic):
    response = book(client, "assessment", NINE, answers=screening(pregnant=True), note="Left knee")
    token = token_of(response)
    with app.app_context():
        appointment = db.session.scalars(select(Appointment)).one()
        assert appointment.start_at == NINE
        assert appointment.therapist_id == clinic.ims
        assert appointment.notes == "Left knee"
        assert appointment.source == "online"
        answers = db.session.get(Screening, appointment.id)
        assert answers.pregnant is True and answers.blood_thinners is False
        assert answers.flagged() == ["Are you pregnant, or could you be?"]
        assert answers.consented_at == app.config["CLOCK"]()
        assert db.session.scalars(select(Contact.email)).one() == "patient1@example.com"
    page = client.get(f"/manage/{token}/confirmed").text
    assert "You are booked" in page
    assert appointment.reference in page
    assert "Tuesday, March 2, 2027, 9:00 a.m. (Pacific time)" in page
    assert f'href="/manage/{token}/appointment.ics"' in page
    assert "https://calendar.google.com/calendar/render?action=TEMPLATE" in page
    assert f"http://localhost/manage/{token}</a>" in page
    assert "Wear loose clothing." in page


def test_a_named_therapist_is_booked_and_first_available_picks_one(app, client, clinic):
    token_of(book(client, "physio", NINE, therapist=str(clinic.physio_only)))
    token_of(book(client, "physio", NINE, n=2))  # first available: the other therapist
    with app.app_context():
        therapists = db.session.scalars(select(Appointment.therapist_id)).all()
    assert sorted(therapists) == sorted([clinic.ims, clinic.physio_only])


def test_no_csrf_token_books_nothing(app, client, clinic):
    data = {"therapist": "any", "start": slot_param(NINE), **details()}
    response = client.post("/book/physio/details", data=data)
    assert response.status_code == 400
    assert count(app) == 0


def test_a_csrf_token_from_another_session_books_nothing(app, clinic):
    stranger = app.test_client()
    token = csrf(stranger.get(details_url("physio")).text)
    victim = app.test_client()
    data = {"csrf_token": token, "therapist": "any", "start": slot_param(NINE), **details()}
    assert victim.post("/book/physio/details", data=data).status_code == 400
    assert count(app) == 0


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("name", "", "Enter your name."),
        ("name", "x" * 121, "Field cannot be longer than 120 characters."),
        ("name", "Bad\x00Name", "Please remove the unusual characters"),
        ("email", "not-an-email", "Enter an email address like name@example.com."),
        ("email", "", "Enter your email address."),
        ("phone", "call me", "Enter a phone number like 604-555-0123."),
        ("phone", "", "Enter a phone number."),
        ("note", "n" * 1001, "Field cannot be longer than 1000 characters."),
        ("pregnant", "", "Please answer yes or no."),
        ("pregnant", "maybe", "Not a valid choice."),
        ("consent", "", "Please confirm your consent to continue."),
    ],
)
def test_bad_details_are_refused_field_by_field_and_kept(
    app, client, clinic, field, value, message
):
    response = book(client, "assessment", NINE, **{field: value})
    page = response.text
    assert response.status_code == 200
    assert message in page
    assert f'id="{field}-error"' in page
    assert 'class="error-summary" role="alert"' in page
    assert count(app) == 0 and count(app, Patient) == 0
    if field != "name":
        assert 'value="Pat Ient1"' in page  # what was typed is still there


def test_an_error_is_tied_to_its_field_for_screen_readers(client, clinic):
    page = book(client, "physio", NINE, email="nope").text
    assert re.search(
        r'<input[^>]*aria-describedby="email-hint email-error"[^>]*aria-invalid="true"', page
    )


def test_a_taken_slot_comes_back_with_alternatives_and_every_field_kept(app, client, clinic):
    token_of(book(client, "assessment", NINE, therapist=str(clinic.ims), n=2))
    response = book(client, "assessment", NINE, therapist=str(clinic.ims), note="Right hip")
    page = response.text
    assert response.status_code == 409
    assert "Sorry, that time was just taken" in page
    alternatives = re.findall(r'name="start" id="start-\d+" value="(\w+)"', page)
    assert alternatives and slot_param(NINE) not in alternatives
    assert slot_param(local(TUESDAY, 10, 15)) in alternatives  # right after the 10-min buffer
    for kept in ('value="Pat Ient1"', 'value="patient1@example.com"', "Right hip"):
        assert kept in page
    assert count(app) == 1
    # Picking an alternative books it.
    form = {"csrf_token": csrf(page), "therapist": str(clinic.ims), "start": alternatives[0]}
    form |= details(note="Right hip") | screening() | {"consent": "y"}
    token_of(client.post("/book/assessment/details", data=form))
    assert count(app) == 2


def test_a_slot_already_gone_is_said_on_arrival(client, clinic):
    token_of(book(client, "physio", NINE, therapist=str(clinic.ims), n=2))
    page = client.get(details_url("physio", str(clinic.ims))).text
    assert "That time is not available any more" in page
    assert 'type="radio" name="start"' in page


@pytest.mark.parametrize(
    "start",
    [local(TUESDAY, 9, 7), local(MONDAY, 9), local(MONDAY + timedelta(days=200), 9)],
    ids=["off-grid", "inside-notice", "beyond-horizon"],
)
def test_a_time_that_is_not_offered_books_nothing(app, client, clinic, start):
    page = client.get(details_url("physio", start=start)).text
    assert "That time is not available any more" in page
    data = {"csrf_token": csrf(client.get(details_url("physio")).text), "therapist": "any"}
    response = client.post(
        "/book/physio/details", data=data | details() | {"start": slot_param(start)}
    )
    assert response.status_code == 409
    assert "Sorry, that time was just taken" in response.text
    assert count(app) == 0


@pytest.mark.parametrize(
    "url",
    [
        "/book/physio/details?therapist=any&start=yesterday",
        "/book/physio/details?therapist=any&start=20270302T1700",
        "/book/physio/details?therapist=any&start=99990302T1700Z",
        "/book/physio/details?therapist=any",
        "/book/physio/details?therapist=any&start=20270302T170Z",
        "/book/physio/details?therapist=any&start=\uff12\uff10\uff12\uff170302T1700Z",
        "/book/physio/details?therapist=any&start=20271302T1700Z",
    ],
)
def test_a_tampered_start_is_a_clear_400(client, clinic, url):
    response = client.get(url)
    assert response.status_code == 400
    assert "That appointment time is not valid." in response.text


def test_a_tampered_therapist_in_the_post_books_nothing(app, client, clinic):
    token = csrf(client.get(details_url("assessment")).text)
    data = {"csrf_token": token, "start": slot_param(NINE), **details(), **screening()}
    data["consent"] = "y"
    for therapist, status in (("77", 404), (str(clinic.physio_only), 404), ("1 OR 1=1", 404)):
        response = client.post("/book/assessment/details", data=data | {"therapist": therapist})
        assert response.status_code == status
        assert "cannot be booked for IMS initial assessment" in response.text
    assert count(app) == 0


def test_an_unverified_follow_up_asks_for_the_link_and_offers_a_one_click_switch(
    app, client, clinic
):
    response = book(client, "follow-up", NINE, note="Neck")
    page = response.text
    assert response.status_code == 200
    assert "Been here before? Open your visits first" in page
    assert 'action="/been-here-before"' in page and 'value="patient1@example.com"' in page
    assert count(app) == 0 and count(app, Patient) == 0
    switch = page[page.index('action="/book/assessment/details"') :]
    switch = switch[: switch.index("</form>")]
    fields = dict(re.findall(r'name="(\w+)" value="([^"]*)"', switch))
    assert fields["switch"] == "1" and fields["start"] == slot_param(NINE)
    assert fields["email"] == "patient1@example.com" and fields["note"] == "Neck"
    assert fields["date_of_birth"] == BORN.isoformat() and fields["who"] == "me"
    # The switch itself books nothing: it opens the assessment's form, filled in.
    switched = client.post("/book/assessment/details", data=fields)
    assert switched.status_code == 200
    assert "You are now booking an IMS initial assessment" in switched.text
    assert 'value="Pat Ient1"' in switched.text and "blood thinners" in switched.text
    assert f'value="{BORN.isoformat()}"' in switched.text
    assert "Please answer yes or no." not in switched.text  # no errors before they try
    assert count(app) == 0


def test_a_verified_person_without_an_assessment_is_asked_to_book_one(app, client, clinic):
    token_of(book(client, "physio", NINE))  # on record, but never assessed
    page = open_my_visits(client, app, "patient1@example.com")
    assert book_for(client, page, "Pat Ient1").status_code == 303
    response = book(client, "follow-up", NINE + timedelta(days=7))
    assert response.status_code == 200
    assert "Please book an assessment first" in response.text
    assert "none on record before this time for Pat Ient1" in response.text
    assert count(app) == 1


def test_the_switch_offers_nearby_times_when_the_assessment_does_not_fit(client, clinic):
    # 11:30: a 30-minute follow-up fits before lunch, a 60-minute assessment does not.
    late = local(TUESDAY, 11, 30)
    page = book(client, "follow-up", late).text
    fields = dict(
        re.findall(r'name="(\w+)" value="([^"]*)"', page[page.index('name="switch"') - 400 :])
    )
    fields["csrf_token"] = csrf(page)
    switched = client.post("/book/assessment/details", data=fields | {"switch": "1"})
    assert "That time is not free for a 60-minute IMS initial assessment" in switched.text
    assert 'type="radio" name="start"' in switched.text


def test_a_follow_up_after_an_assessment_books_from_my_visits(app, client, clinic):
    token_of(book(client, "assessment", NINE))
    token_of(book_follow_up(client, app, NINE + timedelta(days=7), note="Better"))
    with app.app_context():
        first, second = db.session.scalars(select(Appointment).order_by(Appointment.id)).all()
        assert second.patient_id == first.patient_id and second.notes == "Better"
    assert count(app, Patient) == 1


def test_booking_logs_no_patient_data(app, client, clinic, caplog):
    caplog.set_level(logging.DEBUG)
    token_of(book(client, "assessment", NINE, answers=screening(implant=True), note="Sciatica"))
    logged = "\n".join(r.getMessage() for r in caplog.records)
    for secret in ("Pat Ient1", "patient1@example.com", "604-555-0199", "Sciatica"):
        assert secret not in logged


def test_the_booking_post_is_rate_limited(app, client, clinic):
    app.config["BOOKING_RATE_LIMIT"] = "2 per minute"
    for n in (1, 2):
        assert book(client, "physio", NINE + timedelta(hours=n), n=n).status_code == 303
    response = book(client, "physio", local(TUESDAY, 14), n=3)
    assert response.status_code == 429
    assert "too many attempts" in response.text and "604-555-0100" in response.text
    assert count(app) == 2


def test_sending_the_alternatives_without_choosing_one_offers_them_again(app, client, clinic):
    token_of(book(client, "physio", NINE, therapist=str(clinic.ims), n=2))
    page = book(client, "physio", NINE, therapist=str(clinic.ims), note="Ankle").text
    data = {"csrf_token": csrf(page), "therapist": str(clinic.ims), "wanted": slot_param(NINE)}
    response = client.post("/book/physio/details", data=data | details(note="Ankle"))
    assert response.status_code == 200
    assert "Choose one of the times below" in response.text
    assert 'aria-describedby="start-error"' in response.text
    assert 'type="radio" name="start"' in response.text and "Ankle" in response.text
    assert count(app) == 1


def test_sending_the_same_form_twice_books_once(app, client, clinic):
    page = client.get(details_url("physio")).text
    key = re.search(r'name="booking_key" value="([\w-]{24})"', page).group(1)
    data = {"csrf_token": csrf(page), "booking_key": key, "therapist": "any"}
    data |= {"start": slot_param(NINE)} | details()
    first = client.post("/book/physio/details", data=data)
    second = client.post("/book/physio/details", data=data)
    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] == second.headers["Location"]
    assert count(app) == 1
    reused = client.post("/book/physio/details", data=data | {"phone": "604-555-0111"})
    assert reused.status_code == 409
    assert "This form was already used" in reused.text
    assert count(app) == 1


def test_the_details_page_is_never_cached(client, clinic):
    assert client.get(details_url("physio")).headers["Cache-Control"] == "no-store"
    assert book(client, "physio", NINE, name="").headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("address", ["josé@example.com", "名前@example.jp"])
def test_an_address_mail_servers_refuse_is_asked_again(client, world, address):
    world.make_therapist()
    response = book(client, "physio", local(MONDAY + timedelta(days=1), 9), email=address)
    assert response.status_code == 200  # the form again, as for every field error
    assert "Enter an email address like name@example.com." in response.text


def test_a_name_is_one_line(client, world):
    world.make_therapist()
    response = book(
        client, "physio", local(MONDAY + timedelta(days=1), 9), name="Ann\r\nBcc: x@example.com"
    )
    assert response.status_code == 200
    assert "one line" in response.text


def test_a_form_sent_back_for_a_mistake_does_not_count_toward_the_limit(app, client, clinic):
    app.config["BOOKING_RATE_LIMIT"] = "2 per minute"
    for _ in range(5):  # a patient in pain, getting the phone number wrong again and again
        assert book(client, "physio", NINE, phone="call me").status_code == 200
    assert book(client, "physio", NINE).status_code == 303
    assert count(app) == 1


def test_the_limit_page_keeps_what_was_typed(app, client, clinic):
    app.config["BOOKING_RATE_LIMIT"] = "1 per minute"
    token_of(book(client, "physio", NINE, n=1))
    refused = book(client, "physio", NINE + timedelta(hours=2), n=2, note="Left knee, stairs")
    assert refused.status_code == 429 and refused.headers["Retry-After"]
    page = refused.text
    assert "Please wait a minute" in page and "Everything you typed is kept" in page
    for typed in ('value="Pat Ient2"', 'value="patient2@example.com"', "Left knee, stairs"):
        assert typed in page
    assert count(app) == 1


def test_an_unverified_follow_up_reads_the_same_for_a_patient_and_a_stranger(app, client, clinic):
    def answer() -> tuple[int, str]:
        response = book(client, "follow-up", NINE + timedelta(days=7), note="Neck")
        masked = re.sub(
            r'(name="(?:csrf_token|booking_key)"[^>]*value=")[^"]*', r"\1", response.text
        )
        return response.status_code, masked

    stranger = answer()  # nobody by this email on record yet
    token_of(book(client, "assessment", NINE))
    assert answer() == stranger  # the same email, now a patient with an assessment
    assert count(app) == 1
