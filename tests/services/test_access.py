"""Returning patients prove who they are by email: one-time links, their limits, their tokens."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from support import BORN, MONDAY, NOW, details, local

from booking.extensions import db
from booking.models import AccessLink, Event, OutboxMessage, Patient
from booking.services import access, booking, tokens
from booking.services.booking import BookingRequest

TUESDAY = MONDAY + timedelta(days=1)
ANN = details(1, name="Ann Gill", email="ann@example.com")


@pytest.fixture
def household(app, world):
    """Ann (who booked) and her son Tom, one contact; Kim in a household of her own."""
    world.make_therapist("Maya Chen")
    for who, hour in [(ANN, 9), (replace(ANN, name="Tom Gill", booker="Ann Gill"), 11),
                      (details(2), 14)]:  # fmt: skip
        with app.app_context():
            booking.book(BookingRequest("physio", local(TUESDAY, hour), who), now=NOW)
    with app.app_context():
        people = db.session.execute(select(Patient.id, Patient.contact_id).order_by(Patient.id))
        return [tuple(row) for row in people]


def links(app) -> list[AccessLink]:
    with app.app_context():
        found = db.session.scalars(select(AccessLink).order_by(AccessLink.id)).all()
        db.session.expunge_all()
        return list(found)


def link_messages(app) -> int:
    with app.app_context():
        return db.session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.event == Event.ACCESS_LINK.value)
        )


def ask(app, email: str, *, at=NOW) -> None:
    with app.app_context():
        access.request_link(email, now=at)


def token_of(app, link: AccessLink) -> str:
    with app.app_context():
        return access.link_token(link)


def redeem(app, token: str, *, at=NOW) -> int:
    with app.app_context():
        return access.redeem(token, now=at)


def test_an_address_on_record_gets_one_link_stored_only_as_a_hash(app, household):
    ask(app, ANN.email)
    [link] = links(app)
    token = token_of(app, link)
    assert link.contact_id == household[0][1] and link.expires_at == NOW + timedelta(minutes=30)
    assert link.token_hash == tokens.hash_token(token) and token not in link.token_hash
    assert token not in {link.nonce, link.token_hash}
    assert link_messages(app) == 1


def test_an_unknown_address_writes_nothing_at_all(app, household):
    ask(app, "nobody@example.com")
    assert links(app) == [] and link_messages(app) == 0


@pytest.mark.parametrize("typed", ["ANN@example.com", " ann@Example.COM "])
def test_an_address_that_changes_case_reaches_the_same_contact(app, household, typed):
    ask(app, typed)
    assert [link.contact_id for link in links(app)] == [household[0][1]]


def test_gmail_dots_reach_the_same_contact(app, world):
    world.make_therapist("Maya Chen")
    with app.app_context():
        booking.book(
            BookingRequest("physio", local(TUESDAY, 9), details(1, email="ann.gill@gmail.com")),
            now=NOW,
        )
    ask(app, "AnnGill@googlemail.com")
    assert len(links(app)) == 1


def test_a_link_works_once(app, household):
    ask(app, ANN.email)
    token = token_of(app, links(app)[0])
    assert redeem(app, token) == household[0][1]
    with pytest.raises(access.LinkInvalid):
        redeem(app, token, at=NOW + timedelta(minutes=1))
    assert links(app)[0].used_at == NOW


def test_a_link_opened_late_is_refused_like_a_used_one(app, household):
    ask(app, ANN.email)
    token = token_of(app, links(app)[0])
    with pytest.raises(access.LinkInvalid) as late:
        redeem(app, token, at=NOW + timedelta(minutes=30))  # half-open: 30 min is too late
    with pytest.raises(access.LinkInvalid) as unknown:
        redeem(app, "not-a-token")
    assert late.value.message == unknown.value.message
    assert links(app)[0].used_at is None


def test_a_fourth_request_within_half_an_hour_sends_nothing(app, household):
    for minute in range(4):
        ask(app, ANN.email, at=NOW + timedelta(minutes=minute))
    assert len(links(app)) == 3 and link_messages(app) == 3
    ask(app, ANN.email, at=NOW + timedelta(minutes=31))  # the first has aged out
    assert len(links(app)) == 4


def test_the_household_holds_its_people_and_no_one_else(app, household, clock):
    ask(app, ANN.email)
    contact = redeem(app, token_of(app, links(app)[0]))
    with app.app_context():
        found = access.household(contact, now=NOW)
    assert found is not None
    assert [p.name for p in found.people] == ["Ann Gill", "Tom Gill"]
    assert {v.person_id for v in found.upcoming} == {household[0][0], household[1][0]}
    assert found.past == () and all(v.manage_token for v in found.upcoming)
    assert found.people[0].date_of_birth == BORN
    with app.app_context():
        later = access.household(contact, now=local(TUESDAY, 10))
    assert [v.person_id for v in later.past] == [household[0][0]]


def test_a_manage_link_proves_the_same_inbox(app, household):
    with app.app_context():
        found = access.household(household[0][1], now=NOW)
        visit = found.upcoming[0]
        assert access.contact_of_manage_token(visit.manage_token) == household[0][1]
        assert access.contact_of_manage_token("tampered") is None


def test_an_api_token_lasts_thirty_minutes_by_the_apps_clock(app, household):
    with app.app_context():
        token, expires = access.api_token(household[2][1], now=NOW)
        assert expires == NOW + timedelta(minutes=30)
        assert access.contact_of_api_token(token, now=NOW) == household[2][1]
        assert access.contact_of_api_token(token, now=expires) is None
        assert access.contact_of_api_token(token[:-2] + "xx", now=NOW) is None
        assert access.contact_of_api_token("", now=NOW) is None
