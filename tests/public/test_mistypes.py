"""What a person mistypes: phone numbers parsed as numbers, email domains with a slip, the copy."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pages import book, details, screening
from sqlalchemy import select
from support import BORN, MONDAY, local

from booking.extensions import db
from booking.models import Appointment, Patient
from booking.services.validation import phone_display, phone_number, suggest_email

NINE = local(MONDAY + timedelta(days=1), 9)


@pytest.fixture
def clinic(world):
    world.maya = world.make_therapist("Maya Chen")
    return world


@pytest.mark.parametrize(
    ("typed", "stored", "shown"),
    [
        ("604-555-0199", "+16045550199", "(604) 555-0199"),
        ("(604) 555 0177", "+16045550177", "(604) 555-0177"),
        ("+1 778 555 0123", "+17785550123", "(778) 555-0123"),
        ("604.555.0199 ext. 12", "+16045550199;ext=12", "(604) 555-0199 ext. 12"),
        ("+44 20 7946 0958", "+442079460958", "+44 20 7946 0958"),
    ],
)
def test_phone_numbers_are_stored_in_e164_and_shown_nationally(typed, stored, shown):
    assert phone_number(typed) == stored
    assert phone_display(stored) == shown


@pytest.mark.parametrize("typed", ["-------", "123", "call me", "604-555-019", "+99 1234"])
def test_what_is_not_a_phone_number_is_refused(typed):
    assert phone_number(typed) is None


@pytest.mark.parametrize("typed", ["-------", "604-555-019"])
def test_the_site_and_the_api_refuse_a_non_number_and_store_nothing(app, client, clinic, typed):
    page = book(client, "physio", NINE, phone=typed)
    assert page.status_code == 200 and 'id="phone-error"' in page.text
    assert "Enter a phone number like 604-555-0123." in page.text
    body = {"service": "physio", "start": NINE.isoformat(), "therapist_id": clinic.maya}
    body["patient"] = {"name": "Pat Ient", "email": "pat@example.com", "phone": typed}
    body["patient"]["date_of_birth"] = BORN.isoformat()
    api = client.post("/api/v1/bookings", json=body)
    assert api.status_code == 422 and set(api.get_json()["error"]["fields"]) == {"patient.phone"}
    with app.app_context():
        assert db.session.scalar(select(Patient)) is None


def test_a_booked_number_is_kept_in_e164(app, client, clinic):
    response = book(client, "physio", NINE, phone="604 555 0177")
    assert response.status_code == 303
    with app.app_context():
        assert db.session.scalar(select(Patient.phone)) == "+16045550177"


@pytest.mark.parametrize(
    ("typed", "suggested"),
    [
        ("pat@gmial.con", "pat@gmail.com"),
        ("pat@hotmial.com", "pat@hotmail.com"),
        ("pat@yaho.ca", "pat@yahoo.ca"),
        ("pat@gmail.co", "pat@gmail.com"),
        ("pat@gmail.com", None),
        ("pat@shaw.ca", None),
        ("pat@clinic.example", None),
        ("pat@me.ca", None),  # short and real: one slip from nothing we know
    ],
)
def test_a_domain_one_slip_from_a_common_one_gets_a_suggestion(typed, suggested):
    assert suggest_email(typed) == suggested


def booked_email(app) -> str | None:
    with app.app_context():
        appointment = db.session.scalar(select(Appointment))
        return (
            None if appointment is None else db.session.get(Patient, appointment.patient_id).email
        )


def test_the_suggestion_is_asked_once_and_never_insisted_on(app, client, clinic):
    asked = book(client, "physio", NINE, email="pat@gmial.con")
    assert asked.status_code == 200 and "Did you mean <strong>pat@gmail.com</strong>?" in asked.text
    assert booked_email(app) is None  # nothing booked yet: one question first
    kept = book(client, "physio", NINE, email="pat@gmial.con", email_checked="pat@gmial.con")
    assert kept.status_code == 303 and booked_email(app) == "pat@gmial.con"


def test_taking_the_suggestion_books_with_it(app, client, clinic):
    fixed = book(client, "physio", NINE, email="pat@gmial.con", email_fix="pat@gmail.com")
    assert fixed.status_code == 303 and booked_email(app) == "pat@gmail.com"


def test_the_follow_up_page_uses_the_right_article(client, clinic):
    page = book(client, "follow-up", NINE + timedelta(days=7))
    assert "An IMS follow-up is booked online from" in page.text
    assert "A IMS" not in page.text and "an IMS initial assessment instead" in page.text


def test_the_error_summary_reads_as_sentences(client, clinic):
    answers = screening() | {"pregnant": ""}
    page = book(client, "assessment", NINE, answers=answers, **details(1, phone=""))
    assert page.status_code == 200
    assert "?:" not in page.text
    assert "Are you pregnant, or could you be? Please answer yes or no." in page.text
    assert "Mobile phone: Enter a phone number." in page.text
