"""The booking journey's pages through the test client: what each shows and links to."""

from __future__ import annotations

import re
from datetime import time, timedelta

import pytest
from pages import csrf, details, links, slot_param
from support import MONDAY, local

from booking.extensions import db
from booking.services.availability import find_slots
from booking.services.catalog import current
from booking.web.week import monday_of

TUESDAY = MONDAY + timedelta(days=1)


@pytest.fixture
def clinic(world):
    world.ims = world.make_therapist("Maya Chen")
    world.physio_only = world.make_therapist("Tom Berg", services=("physio",), ims=False)
    return world


def test_start_page_shows_the_clinic_and_steers_new_and_returning_patients(client, clinic):
    page = client.get("/").text
    assert "Test Clinic" in page
    assert 'href="tel:604-555-0100"' in page
    assert "What is IMS?" in page and "What happens at an assessment" in page
    assert "Wear loose clothing." in page  # preparation notes
    assert "60 minutes" in page and "30 minutes" in page and "45 minutes" in page
    assert re.search(r"New patient\?</strong> Start with an <a href=\"/book/assessment\"", page)
    assert re.search(
        r"Been here before\?</strong> <a href=\"/been-here-before\">Open My visits", page
    )
    assert page.count('class="button primary big"') == 1  # one obvious Book action
    # Opening hours, from the therapists' weekly hours.
    assert re.search(r"<th scope=\"row\">Monday</th><td>9:00 a.m. to 5:00 p.m.</td>", page)


def test_start_page_says_closed_on_days_nobody_works(client, world):
    world.make_therapist(hours={0: [(time(9), time(12))]})
    page = client.get("/").text
    assert '<th scope="row">Sunday</th><td>Closed</td>' in page


def test_service_choice_puts_first_and_return_visits_first(client, clinic):
    page = client.get("/book").text
    new = page.index("I'm new here: IMS initial assessment")
    back = page.index("I've been before: IMS follow-up")
    other = page.index("Physiotherapy assessment")
    assert new < back < other


def test_therapist_choice_offers_first_available_and_only_those_who_may_needle(client, clinic):
    page = client.get("/book/assessment").text
    assert links(page, "/book/assessment/times") == [
        "/book/assessment/times?therapist=any",
        f"/book/assessment/times?therapist={clinic.ims}",
    ]
    assert "Tom Berg" not in page
    assert "IMS certified" in page
    physio = client.get("/book/physio").text
    assert "Tom Berg" in physio


def test_a_lapsed_certification_is_not_offered(client, world):
    world.make_therapist("Old Cert", expires=MONDAY - timedelta(days=1))
    page = client.get("/book/assessment").text
    assert "Old Cert" not in page
    assert "No therapist can be booked online" in page


@pytest.mark.parametrize("url", ["/book/nope", "/book/nope/times", "/book/nope/details"])
def test_unknown_services_are_404(client, clinic, url):
    assert client.get(url).status_code == 404


def test_times_show_exactly_what_the_engine_offers(app, client, clinic):
    page = client.get(f"/book/follow-up/times?therapist={clinic.ims}").text
    offered = links(page, "/book/follow-up/details")
    with app.app_context():
        catalog = current()
        service = catalog.service("follow-up")
        slots = find_slots(
            catalog,
            service,
            MONDAY,
            MONDAY + timedelta(days=6),
            now=app.config["CLOCK"](),
            therapists=catalog.therapists_for(service),
        )
    expected = [
        f"/book/follow-up/details?therapist={clinic.ims}&start={slot_param(s.start)}" for s in slots
    ]
    assert offered == expected
    assert len(expected) > 50


def test_times_are_labelled_in_the_clinic_zone_and_grouped_by_day(client, clinic):
    page = client.get(f"/book/physio/times?therapist={clinic.ims}").text
    assert "Times are Pacific time (Vancouver)" in page
    tuesday = page[page.index('id="day-2027-03-02"') : page.index('id="day-2027-03-03"')]
    assert "Tuesday, March 2, 2027" in tuesday
    assert 'aria-label="9:00 a.m., Tuesday, March 2, 2027">9:00 a.m.</a>' in tuesday
    # 12 hours of notice empties today: greyed in the day strip, no times of its own.
    assert (
        '<span class="day-tab day-tab-empty">Mon, Mar 1<span class="visually-hidden">: no times'
        in page
    )
    assert 'id="day-2027-03-01"' not in page


def test_week_navigation_stops_at_today_and_at_the_horizon(client, clinic):
    first = client.get("/book/physio/times?therapist=any").text
    assert 'rel="prev"' not in first
    assert "week=2027-03-08" in first
    # The horizon is 90 days: 30 May 2027. Its week has no later link.
    last = client.get("/book/physio/times?therapist=any&week=2027-05-24").text
    assert 'rel="prev"' in last and 'rel="next"' not in last
    # A week in the past shows this week instead.
    past = client.get("/book/physio/times?therapist=any&week=2026-01-05").text
    assert "Mon, Mar 1" in past


def test_a_week_without_times_jumps_to_the_first_free_day(client, world):
    maya = world.make_therapist("Maya Chen")
    world.time_off(maya, local(MONDAY, 0), local(MONDAY + timedelta(days=9), 0))
    page = client.get(f"/book/physio/times?therapist={maya}&week={MONDAY}").text
    assert "Nothing is free this week." in page
    assert "first free day: Wednesday, March 10, 2027" in page
    # Without a week asked for, the first week with a time opens directly.
    page = client.get(f"/book/physio/times?therapist={maya}").text
    assert "Mon, Mar 8" in page and "9:00 a.m., Wednesday, March 10, 2027" in page


def test_nothing_within_the_horizon_says_so_and_gives_the_phone(client, world):
    idle = world.make_therapist("Idle", hours={})
    page = client.get(f"/book/physio/times?therapist={idle}").text
    assert "No times are free in the next 90 days." in page
    assert 'href="tel:604-555-0100"' in page


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("therapist=999999", 404),
        ("therapist=abc", 404),
        ("therapist=%00", 404),
        ("week=2027-02-30", 400),
        ("week=soon", 400),
        ("week=99999-01-01", 400),
    ],
)
def test_tampered_time_choice_parameters_get_a_clear_error(client, clinic, query, status):
    response = client.get(f"/book/assessment/times?{query}")
    assert response.status_code == status
    assert "<h1>" in response.text and "Traceback" not in response.text


def test_a_therapist_who_does_not_offer_the_service_is_refused_by_name(client, clinic):
    response = client.get(f"/book/assessment/times?therapist={clinic.physio_only}")
    assert response.status_code == 404
    assert "That therapist cannot be booked for IMS initial assessment" in response.text


def test_monday_of_is_the_week_start():
    assert monday_of(TUESDAY) == MONDAY
    assert monday_of(MONDAY) == MONDAY


def test_the_week_of_the_spring_forward_keeps_local_hours(client, clinic):
    # Clocks go forward on Sunday 14 March 2027: the days after still open at 09:00 local.
    page = client.get(f"/book/physio/times?therapist={clinic.ims}&week=2027-03-08").text
    sunday = page[page.index('id="day-2027-03-14"') :]
    assert 'aria-label="9:00 a.m., Sunday, March 14, 2027"' in sunday
    assert "start=20270314T1600Z" in sunday  # 09:00 PDT is 16:00 UTC
    assert "start=20270313T1700Z" in page  # and 09:00 PST the day before is 17:00 UTC
    assert "02:30" not in sunday


@pytest.mark.parametrize(("proxies", "second"), [(1, 303), (0, 429)])
def test_behind_a_trusted_proxy_limits_count_patients(world, proxies, second):
    from booking import create_app

    world.make_therapist()
    config = dict(world.app.config, TRUSTED_PROXIES=proxies, BOOKING_RATE_LIMIT="1 per minute")
    app = create_app(config)
    statuses = []
    for n in (1, 2):  # two patients, each in their own browser, behind one proxy
        client = app.test_client()
        start = f"20270302T{16 + n}00Z"
        url = f"/book/physio/details?therapist=any&start={start}"
        headers = {
            "X-Forwarded-For": f"203.0.113.{n}",
            "X-Forwarded-Proto": "https",
            "Referer": f"https://localhost{url}",  # sent by browsers: same-origin policy
        }
        token = csrf(client.get(url, headers=headers).text)
        data = {"csrf_token": token, "therapist": "any", "start": start, **details(n)}
        statuses.append(client.post("/book/physio/details", data=data, headers=headers).status_code)
    page = app.test_client().get("/", headers={"X-Forwarded-Proto": "https"})
    with app.app_context():
        db.engine.dispose()  # this test's own app: close its connections now
    assert statuses == [303, second]  # 303: booked
    assert ("Strict-Transport-Security" in page.headers) is bool(proxies)


def test_a_page_asks_the_database_once_when_nothing_changed(app, client, clinic):
    from sqlalchemy import event

    client.get("/")  # loads this process's catalog snapshot
    statements = []
    with app.app_context():
        engine = db.engine
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        assert client.get("/").status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    queries = [q for q in statements if q.split()[0] in ("SELECT", "INSERT", "UPDATE", "DELETE")]
    assert len(queries) == 1, queries  # the catalog version; the header reuses the snapshot
    assert "catalog_version" in queries[0]


def test_therapist_cards_show_the_bio(app, client, clinic):
    from booking.models import Therapist

    with app.app_context():
        db.session.get(Therapist, clinic.ims).bio = "Treats neck and back pain with IMS."
        db.session.commit()
    page = client.get("/book/assessment").text
    assert "Treats neck and back pain with IMS." in page
