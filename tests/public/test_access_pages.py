"""'Been here before?' and the emailed link: one answer for every address, single use, 30 min."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from pages import ask_for_link, book, csrf, emailed_link, open_link, open_my_visits, token_of
from sqlalchemy import func, select
from support import MONDAY, local

from booking.extensions import db
from booking.models import AccessLink, OutboxMessage
from booking.services import access

NINE = local(MONDAY + timedelta(days=1), 9)
KNOWN = "patient1@example.com"


@pytest.fixture
def clinic(app, client, world):
    world.maya = world.make_therapist("Maya Chen")
    token_of(book(client, "physio", NINE))  # patient1 is on record
    return world


def links_written(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(AccessLink))


def messages(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(OutboxMessage))


def test_the_page_asks_for_the_address_in_a_labelled_field(client, clinic):
    response = client.get("/been-here-before")
    page = response.text
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    assert "<h1>Been here before?</h1>" in page
    assert re.search(r'<label for="email">Email</label>', page)
    assert 'type="email"' in page and 'autocomplete="email"' in page


def test_a_known_and_an_unknown_address_get_byte_for_byte_the_same_answer(app, clinic):
    before = messages(app)
    answers = []
    for email in (KNOWN, "nobody@example.com"):
        client = app.test_client()  # a session each: nothing carries over between them
        response = ask_for_link(client, email)
        sent = client.get(response.headers["Location"])
        answers.append((response, sent))
    (known, known_sent), (unknown, unknown_sent) = answers
    assert known.status_code == unknown.status_code == 303
    assert known.headers["Location"] == unknown.headers["Location"] == "/been-here-before/sent"
    assert known.data == unknown.data
    assert sorted(known.headers.items()) == sorted(unknown.headers.items())
    assert known_sent.status_code == unknown_sent.status_code == 200
    assert known_sent.data == unknown_sent.data
    assert sorted(known_sent.headers.items()) == sorted(unknown_sent.headers.items())
    assert access.ANSWER in known_sent.text
    # Only the known address got a link and its email.
    assert links_written(app) == 1 and messages(app) == before + 1


def test_the_address_may_change_case(app, client, clinic):
    assert ask_for_link(client, "Patient1@EXAMPLE.com").status_code == 303
    assert links_written(app) == 1


@pytest.mark.parametrize(("typed", "message"), [("", "Enter your email"), ("nope", "like name@")])
def test_a_malformed_address_is_asked_again_and_sends_nothing(app, client, clinic, typed, message):
    response = ask_for_link(client, typed)
    assert response.status_code == 422
    assert message in response.text and 'aria-invalid="true"' in response.text
    assert 'class="error-summary"' in response.text and links_written(app) == 0


def test_the_request_needs_its_csrf_token(app, client, clinic):
    response = client.post("/been-here-before", data={"email": KNOWN})
    assert response.status_code == 400 and links_written(app) == 0


def test_asking_is_rate_limited_the_same_for_every_address(app, client, clinic):
    app.config["BOOKING_RATE_LIMIT"] = "2 per minute"
    assert ask_for_link(client, KNOWN).status_code == 303
    assert ask_for_link(client, "nobody@example.com").status_code == 303
    for email in (KNOWN, "nobody@example.com"):
        refused = ask_for_link(client, email)
        assert refused.status_code == 429 and refused.headers["Retry-After"]
        assert "Please wait a minute" in refused.text
    assert links_written(app) == 1


def test_opening_the_link_shows_a_button_and_uses_nothing(app, client, clinic):
    ask_for_link(client, KNOWN)
    token = emailed_link(app, KNOWN)
    for _ in range(2):  # a mail scanner's GET, then the patient's
        response = client.get(f"/my/{token}")
        assert response.status_code == 200
        assert "<button" in response.text and "Open my visits" in response.text
        assert response.headers["Referrer-Policy"] == "same-origin"
        assert "noindex" in response.headers["X-Robots-Tag"]
    with app.app_context():
        assert db.session.scalar(select(AccessLink.used_at)) is None
    opened = open_link(client, token)
    assert opened.status_code == 303 and opened.headers["Location"] == "/my"
    page = client.get("/my").text
    assert "<h1>My visits</h1>" in page and "Pat Ient1" in page


def test_a_link_works_once(app, client, clinic):
    ask_for_link(client, KNOWN)
    token = emailed_link(app, KNOWN)
    assert open_link(client, token).status_code == 303
    other = app.test_client()  # someone who got hold of the used link
    again = open_link(other, token)
    assert again.status_code == 410
    assert "expired or was already used" in again.text
    assert 'action="/been-here-before"' in again.text  # a new link, one step away
    assert other.get("/my").status_code == 302


def test_a_link_works_for_30_minutes(app, client, clock, clinic):
    ask_for_link(client, KNOWN)
    token = emailed_link(app, KNOWN)
    page = client.get(f"/my/{token}").text
    clock.advance(minutes=30)
    late = client.post(f"/my/{token}", data={"csrf_token": csrf(page)})
    assert late.status_code == 410 and "expired or was already used" in late.text
    assert client.get("/my").headers["Location"] == "/been-here-before"


@pytest.mark.parametrize("bad", ["x", "A" * 43, "A" * 42 + "!", "A" * 500])
def test_a_wrong_link_is_the_same_clear_answer(app, client, clinic, bad):
    # A link of the right shape gets its button (a GET checks nothing); any other, the answer.
    assert client.get(f"/my/{bad}").status_code == (
        200 if len(bad) == 43 and bad.isalnum() else 410
    )
    page = client.get("/been-here-before").text
    response = client.post(f"/my/{bad}", data={"csrf_token": csrf(page)})
    assert response.status_code == 410 and "expired or was already used" in response.text
    assert client.get("/my").status_code == 302


def test_pressing_the_button_needs_its_csrf_token(app, client, clinic):
    ask_for_link(client, KNOWN)
    token = emailed_link(app, KNOWN)
    assert client.post(f"/my/{token}", data={}).status_code == 400
    assert open_link(client, token).status_code == 303  # the link was not used up


def test_my_visits_needs_a_verification_which_lasts_30_minutes(app, client, clock, clinic):
    assert client.get("/my").headers["Location"] == "/been-here-before"
    open_my_visits(client, app, KNOWN)
    clock.advance(minutes=29)
    assert client.get("/my").status_code == 200
    clock.advance(minutes=1)
    assert client.get("/my").headers["Location"] == "/been-here-before"


def test_signing_out_forgets_the_verification(app, client, clinic):
    page = open_my_visits(client, app, KNOWN)
    response = client.post("/my/sign-out", data={"csrf_token": csrf(page)})
    assert response.status_code == 303
    assert "You have left My visits" in client.get("/").text
    assert client.get("/my").status_code == 302


def test_a_verified_visitor_asking_again_is_pointed_to_my_visits(app, client, clinic):
    open_my_visits(client, app, KNOWN)
    page = client.get("/been-here-before").text
    assert "My visits is open on this device" in page and 'href="/my"' in page


def test_the_manage_page_opens_my_visits(app, client, clinic):
    token = token_of(book(client, "physio", NINE + timedelta(hours=2), n=1))
    page = client.get(f"/manage/{token}").text
    assert f'action="/my/from-manage/{token}"' in page and ">My visits</button>" in page
    response = client.post(f"/my/from-manage/{token}", data={"csrf_token": csrf(page)})
    assert response.status_code == 303 and response.headers["Location"] == "/my"
    visits = client.get("/my").text
    assert "Pat Ient1" in visits and visits.count("Change or cancel") == 2
    assert f'href="/manage/{token}"' in visits


def test_a_wrong_manage_token_opens_nothing(app, client, clinic):
    page = client.get("/been-here-before").text
    response = client.post(f"/my/from-manage/{'A' * 43}", data={"csrf_token": csrf(page)})
    assert response.status_code == 404
    assert client.get("/my").status_code == 302


def test_a_manage_link_past_its_life_opens_nothing(app, client, clock, clinic):
    token = token_of(book(client, "physio", NINE + timedelta(hours=2), n=1))
    page = client.get(f"/manage/{token}").text
    clock.advance(days=32)  # the manage link dies 30 days after the visit
    response = client.post(f"/my/from-manage/{token}", data={"csrf_token": csrf(page)})
    assert response.status_code == 404
    assert client.get("/my").status_code == 302


def test_the_manage_button_needs_its_csrf_token(app, client, clinic):
    token = token_of(book(client, "physio", NINE + timedelta(hours=2), n=1))
    assert client.post(f"/my/from-manage/{token}", data={}).status_code == 400
    assert client.get("/my").status_code == 302


def test_a_gmail_address_may_gain_dots(app, client, world):
    world.make_therapist()
    token_of(book(client, "physio", NINE, email="pat.ient@gmail.com"))
    assert ask_for_link(client, "P.a.t.Ient@Gmail.com").status_code == 303
    assert links_written(app) == 1
