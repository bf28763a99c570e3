"""The time picker through the test client: the clinic's locale and clock, the day strip,
and "first available" named before the patient books (and held to, against races)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from pages import csrf, details, slot_param
from sqlalchemy import select
from support import BORN, MONDAY, local

from booking.extensions import db
from booking.models import Appointment
from booking.services import booking
from booking.services.clinic import change_setting
from booking.services.errors import InvalidRequest

TUESDAY = MONDAY + timedelta(days=1)
NINE = local(TUESDAY, 9)


@pytest.fixture
def clinic(world):
    world.ims = world.make_therapist("Maya Chen")
    world.physio_only = world.make_therapist("Tom Berg", services=("physio",), ims=False)
    return world


def setting(app, name: str, value: str) -> None:
    with app.app_context():
        change_setting(name, value, actor="test", now=app.config["CLOCK"]())


def test_times_read_in_canadian_english_by_default(client, clinic):
    page = client.get(f"/book/physio/times?therapist={clinic.ims}").text
    assert ">9:00 a.m.</a>" in page and ">1:00 p.m.</a>" in page
    assert ">Tuesday, March 2</h2>" in page
    assert 'aria-label="9:00 a.m., Tuesday, March 2, 2027"' in page
    assert ">09:00<" not in page


def test_a_clinic_setting_switches_to_the_24_hour_clock_everywhere(app, client, clinic):
    setting(app, "clock_24h", "true")
    page = client.get(f"/book/physio/times?therapist={clinic.ims}").text
    assert ">09:00</a>" in page and ">13:00</a>" in page and "a.m." not in page
    shown = client.get(f"/book/physio/details?therapist=any&start={slot_param(NINE)}").text
    assert "Tuesday, March 2, 2027, 09:00 (Pacific time)" in shown
    assert "<td>09:00 to 17:00</td>" in client.get("/").text


def test_the_locale_follows_babel(app, client, clinic):
    assert "<td>9:00 a.m. to 5:00 p.m.</td>" in client.get("/").text
    setting(app, "locale", "fr_CA")
    page = client.get(f"/book/physio/times?therapist={clinic.ims}").text
    assert ">mardi 2 mars</h2>" in page, re.findall(r"<h2[^>]*>[^<]*</h2>", page)
    assert ">09 h 00</a>" in page


@pytest.mark.parametrize("value", ["zz_ZZ", "en_ZZ", "xx", "en-CA", "EN_ca", "en_CA;", ""])
def test_only_a_locale_babel_knows_is_accepted(app, world, value):
    with app.app_context(), pytest.raises(InvalidRequest) as refused:
        change_setting("locale", value, actor="test", now=app.config["CLOCK"]())
    assert "locale" in refused.value.message or refused.value.fields
    with app.app_context():
        from booking.services.clinic import get_clinic

        assert get_clinic().locale == "en_CA"


def test_past_days_are_left_out_and_days_without_times_greyed(app, client, clinic):
    app.config["CLOCK"].now = local(MONDAY + timedelta(days=2), 8)  # Wednesday morning
    page = client.get(f"/book/physio/times?therapist={clinic.ims}").text
    strip = page[page.index("data-day-strip") : page.index("</nav>", page.index("data-day-strip"))]
    assert "2027-03-01" not in strip and "2027-03-02" not in strip
    assert "Mon, Mar 1" not in page and "Tue, Mar 2" not in page
    # 12 hours' notice empties Wednesday: greyed, not a link; Thursday opens.
    assert re.search(r'<span class="day-tab day-tab-empty">Wed, Mar 3<span', strip)
    assert 'aria-current="date"' in strip and 'data-day="2027-03-04" aria-current' in strip
    assert re.search(r'data-day-panel="2027-03-04" aria-labelledby="[^"]+">', page)  # not hidden


def test_a_day_link_opens_that_day_and_works_without_javascript(client, clinic):
    page = client.get(f"/book/physio/times?therapist={clinic.ims}&day=2027-03-05").text
    assert 'data-day="2027-03-05" aria-current="date"' in page
    assert re.search(r'data-day-panel="2027-03-05" aria-labelledby="[^"]+">', page)
    assert re.search(r'data-day-panel="2027-03-02" aria-labelledby="[^"]+" hidden>', page)
    assert f"/book/physio/times?therapist={clinic.ims}&amp;day=2027-03-04" in page
    # Times are grouped by part of the day; one element per time.
    friday = page[page.index('id="day-2027-03-05"') :]
    assert friday.index(">Morning</h3>") < friday.index(">Afternoon</h3>")
    assert client.get("/book/physio/times?therapist=any&day=2027-13-01").status_code == 400


def test_first_available_names_the_therapist_before_booking(app, client, clinic):
    page = client.get(f"/book/physio/details?therapist=any&start={slot_param(NINE)}").text
    # Maya (the lowest id) is who the engine offers at 9:00.
    assert re.search(r"<dt>With</dt><dd>Maya Chen <span[^>]*>\(first available\)</span>", page)
    assert f'name="offered" value="{clinic.ims}"' in page
    data = {"csrf_token": csrf(page), "therapist": "any", "start": slot_param(NINE)}
    data |= details(offered=str(clinic.ims))
    response = client.post("/book/physio/details", data=data)
    assert response.status_code == 303
    with app.app_context():
        assert db.session.scalars(select(Appointment.therapist_id)).one() == clinic.ims


def test_the_named_therapist_taken_meanwhile_gives_the_alternatives(app, client, clinic):
    page = client.get(f"/book/physio/details?therapist=any&start={slot_param(NINE)}").text
    with app.app_context():  # somebody else books Maya at 9:00 meanwhile
        booking.book(
            booking.BookingRequest(
                service="physio",
                start=NINE,
                therapist_id=clinic.ims,
                patient=booking.PatientDetails(
                    "Sam Okafor", "sam@example.com", "604-555-0123", date_of_birth=BORN
                ),
            ),
            now=app.config["CLOCK"](),
        )
    data = {"csrf_token": csrf(page), "therapist": "any", "start": slot_param(NINE)}
    data |= details(offered=str(clinic.ims))
    response = client.post("/book/physio/details", data=data)
    assert response.status_code == 409
    assert "Sorry, that time was just taken" in response.text
    assert 'name="offered"' not in response.text  # an alternative goes to whoever is free
    assert 'value="20270302T1700Z"' in response.text  # Tom is still free at 9:00
    with app.app_context():
        assert db.session.scalars(select(Appointment.therapist_id)).all() == [clinic.ims]
    data["start"] = slot_param(NINE)
    del data["offered"]
    assert client.post("/book/physio/details", data=data).status_code == 303
    with app.app_context():
        booked = db.session.scalars(select(Appointment.therapist_id).order_by(Appointment.id))
        assert booked.all() == [clinic.ims, clinic.physio_only]
