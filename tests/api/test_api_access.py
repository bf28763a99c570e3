"""Returning patients through the API, on SQLite and PostgreSQL: the emailed one-time link
(`POST /access-links`), its redemption (`POST /access-tokens`) and the patient access token."""

from __future__ import annotations

import pytest
from api_support import TUESDAY, bearer, count, emailed_link, post_booking, verify
from sqlalchemy import select
from support import local

from booking.extensions import db
from booking.models import AccessLink, Contact, OutboxMessage
from booking.services.access import ANSWER

HEADERS_THAT_MATTER = ("Content-Type", "Content-Length", "Cache-Control", "WWW-Authenticate")


def ask(client, email):
    return client.post("/api/v1/access-links", json={"email": email})


def redeem(client, token):
    return client.post("/api/v1/access-tokens", json={"token": token})


def test_the_answer_is_the_same_byte_for_byte_for_a_known_and_an_unknown_email(app, client, clinic):
    post_booking(client, start=local(TUESDAY, 9))
    known = ask(client, "patient1@example.com")
    unknown = ask(client, "nobody@example.com")

    assert known.status_code == unknown.status_code == 202
    assert known.get_data() == unknown.get_data()
    assert known.get_json() == {"message": ANSWER}
    assert sorted(known.headers.items()) == sorted(unknown.headers.items())
    for name in HEADERS_THAT_MATTER:
        assert known.headers.get(name) == unknown.headers.get(name)
    assert known.headers["Cache-Control"] == "no-store"
    # Only the inbox on record learns: one link, one email to it, nothing for the other.
    with app.app_context():
        links = db.session.scalars(select(AccessLink)).all()
        assert len(links) == 1
        messages = db.session.scalars(
            select(OutboxMessage.to_address).where(OutboxMessage.access_link_id.is_not(None))
        ).all()
        assert messages == ["patient1@example.com"]


@pytest.mark.parametrize("email", ["not-an-email", "", "a@b@c", None, 5])
def test_a_malformed_email_is_422_for_everyone(client, clinic, email):
    response = client.post("/api/v1/access-links", json={"email": email})
    assert response.status_code == 422
    assert set(response.get_json()["error"]["fields"]) == {"email"}


@pytest.mark.parametrize(
    ("booked", "asked"),
    [
        ("Pat.Ient@gmail.com", "patient@GMAIL.com"),
        ("pat.ient@gmail.com", "  P.a.t.Ient@Gmail.Com "),
        ("Pat@Example.com", "pat@example.COM"),
    ],
)
def test_an_email_in_another_case_or_with_gmail_dots_reaches_the_same_contact(
    app, client, clinic, booked, asked
):
    assert post_booking(client, start=local(TUESDAY, 9), email=booked).status_code == 201
    verified = verify(app, client, asked)
    assert [p["name"] for p in verified["people"]] == ["Pat Ient1"]
    with app.app_context():
        (contact,) = db.session.scalars(select(Contact)).all()
        link = db.session.scalar(select(AccessLink))
        assert link.contact_id == contact.id
        # The email goes to the address on record, as it was first given.
        message = db.session.scalar(
            select(OutboxMessage).where(OutboxMessage.access_link_id == link.id)
        )
        assert message.to_address == contact.email


def test_a_redeemed_link_gives_a_bearer_token_and_the_household(app, client, clinic):
    post_booking(client, start=local(TUESDAY, 9))
    post_booking(
        client,
        start=local(TUESDAY, 13),
        service="physio",
        name="Tom Ient1",
        date_of_birth="2016-02-29",
        booker="Pat Ient1",
    )
    ask(client, "patient1@example.com")
    response = redeem(client, emailed_link(app))

    assert response.status_code == 201
    body = response.get_json()
    assert body["token_type"] == "Bearer"
    assert body["expires_at"] == "2027-03-01T08:30:00-08:00"  # 30 minutes from now
    assert body["expires_in"] == 1800
    assert [(p["name"], p["date_of_birth"], p["preferred_name"]) for p in body["people"]] == [
        ("Pat Ient1", "1980-05-17", ""),
        ("Tom Ient1", "2016-02-29", ""),
    ]
    assert set(body["people"][0]) == {"id", "name", "preferred_name", "date_of_birth"}
    assert "patient1@example.com" not in response.get_data(as_text=True)

    household = client.get("/api/v1/household", headers=bearer(body["access_token"]))
    assert household.status_code == 200
    listed = household.get_json()
    assert listed["people"] == body["people"]
    upcoming = listed["upcoming"]
    assert [(v["service"], v["start"]) for v in upcoming] == [
        ("assessment", "2027-03-02T09:00:00-08:00"),
        ("physio", "2027-03-02T13:00:00-08:00"),
    ]
    assert [v["person_id"] for v in upcoming] == [p["id"] for p in body["people"]]
    # Each visit's manage token opens that visit.
    shown = client.get(f"/api/v1/bookings/{upcoming[1]['manage_token']}").get_json()
    assert shown["id"] == upcoming[1]["id"]


def test_a_link_works_once(app, client, clinic):
    post_booking(client, start=local(TUESDAY, 9))
    ask(client, "patient1@example.com")
    link = emailed_link(app)
    assert redeem(client, link).status_code == 201

    again = redeem(client, link)
    made_up = redeem(client, "A" * 43)

    assert again.status_code == made_up.status_code == 410
    assert again.get_json()["error"]["code"] == "link_invalid"
    assert again.get_data() == made_up.get_data()  # used, unknown: one answer


@pytest.mark.parametrize(("minutes", "status"), [(29, 201), (30, 410), (31, 410)])
def test_a_link_used_late_is_link_invalid(app, client, clock, clinic, minutes, status):
    post_booking(client, start=local(TUESDAY, 9))
    ask(client, "patient1@example.com")
    clock.advance(minutes=minutes)
    response = redeem(client, emailed_link(app))
    assert response.status_code == status
    if status == 410:
        assert response.get_json()["error"]["code"] == "link_invalid"


@pytest.mark.parametrize(("minutes", "status"), [(29, 200), (30, 401), (31, 401)])
def test_an_access_token_expires_after_30_minutes(app, client, clock, clinic, minutes, status):
    post_booking(client, start=local(TUESDAY, 9))
    verified = verify(app, client)
    clock.advance(minutes=minutes)
    token = verified["access_token"]

    household = client.get("/api/v1/household", headers=bearer(token))
    follow_up = post_booking(
        client,
        start=local(TUESDAY.replace(day=9), 9),
        service="follow-up",
        person_id=verified["people"][0]["id"],
        token=token,
    )

    assert household.status_code == status
    if status == 401:
        for response in (household, follow_up):
            assert response.status_code == 401
            assert response.get_json()["error"]["code"] == "invalid_token"
            assert response.headers["WWW-Authenticate"].startswith("Bearer ")
        assert count(app) == 1
    else:
        assert follow_up.status_code == 201


@pytest.mark.parametrize(
    "header",
    ["Bearer nope", "Bearer ", "Basic dXNlcjpwYXNz", "bearer", "Token abc", "Bearer a.b.c"],
)
def test_a_malformed_or_forged_token_is_401(app, client, clinic, header):
    for response in (
        client.get("/api/v1/household", headers={"Authorization": header}),
        post_booking(client, start=local(TUESDAY, 9), headers={"Authorization": header}),
    ):
        assert response.status_code == 401
        assert (
            response.headers["WWW-Authenticate"] == 'Bearer realm="booking", error="invalid_token"'
        )
    assert count(app) == 0  # a new-patient booking needs no token, but a bad one is refused


def test_the_household_needs_a_token(client, clinic):
    response = client.get("/api/v1/household")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_token_signed_with_another_secret_is_401(app, client, clinic):
    post_booking(client, start=local(TUESDAY, 9))
    token = verify(app, client)["access_token"]
    app.config["SECRET_KEY"] = "another-secret"
    assert client.get("/api/v1/household", headers=bearer(token)).status_code == 401


def test_asking_for_links_is_rate_limited_per_address_apart_from_booking(app, client, clinic):
    app.config["BOOKING_RATE_LIMIT"] = "3 per hour"
    post_booking(client, start=local(TUESDAY, 9))
    assert [ask(client, f"x{n}@example.com").status_code for n in range(2)] == [202, 202]
    assert redeem(client, "A" * 43).status_code == 410  # redeeming counts too
    refused = ask(client, "patient1@example.com")
    assert refused.status_code == 429
    assert refused.get_json()["error"]["code"] == "too_many_requests"
    assert refused.headers["Retry-After"]
    assert redeem(client, "A" * 43).status_code == 429
    with app.app_context():
        assert db.session.scalars(select(AccessLink)).all() == []  # nothing was sent
    # Booking has its own count: asking for links does not use it up.
    assert post_booking(client, start=local(TUESDAY, 13), n=2).status_code == 201
    other = app.test_client()
    other.environ_base["REMOTE_ADDR"] = "192.0.2.7"
    assert ask(other, "patient1@example.com").status_code == 202  # per address


def test_a_contact_asking_too_often_gets_no_more_links_and_the_same_answer(app, client, clinic):
    post_booking(client, start=local(TUESDAY, 9))
    answers = {ask(client, "patient1@example.com").get_data() for _ in range(5)}
    assert answers == {ask(client, "nobody@example.com").get_data()}
    with app.app_context():
        assert len(db.session.scalars(select(AccessLink)).all()) == 3  # LINKS_PER_CONTACT
