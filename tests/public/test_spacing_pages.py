"""The needling spacing on the patient site: a verified person's times leave out the days too
close to their other needling visit, and a time on such a day is refused with spaced times."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from html import unescape

import pytest
from pages import book, book_follow_up, book_for, csrf, open_my_visits, slot_param, token_of
from support import MONDAY, VANCOUVER, local

TUESDAY = MONDAY + timedelta(days=1)
WEDNESDAY = MONDAY + timedelta(days=2)
THURSDAY = MONDAY + timedelta(days=3)


@pytest.fixture
def clinic(world):
    world.maya = world.make_therapist("Maya Chen")
    return world


def offered_days(html: str) -> set:
    """The local dates of the times a page offers (links and radio buttons alike)."""
    found = re.findall(r"start=(\d{8}T\d{4}Z)", unescape(html))
    found += re.findall(r'name="start"[^>]*value="(\d{8}T\d{4}Z)"', html)
    return {
        datetime.strptime(s, "%Y%m%dT%H%MZ").replace(tzinfo=UTC).astimezone(VANCOUVER).date()
        for s in found
    }


def test_a_verified_persons_times_leave_out_the_days_too_close(app, client, clinic):
    token_of(book(client, "assessment", local(TUESDAY, 9)))
    everyone = client.get(f"/book/follow-up/times?week={MONDAY}&day={WEDNESDAY}").text
    assert WEDNESDAY in offered_days(everyone)  # nobody is verified: the week as it is
    page = open_my_visits(client, app, "patient1@example.com")
    assert book_for(client, page, "Pat Ient1").status_code == 303
    theirs = client.get(f"/book/follow-up/times?week={MONDAY}&day={WEDNESDAY}").text
    days = offered_days(theirs)
    assert THURSDAY in days
    assert not days & {TUESDAY, WEDNESDAY}


def test_a_time_too_close_is_refused_with_the_nearest_spaced_times(app, client, clinic):
    token_of(book(client, "assessment", local(TUESDAY, 9)))
    refused = book_follow_up(client, app, local(WEDNESDAY, 9))
    assert refused.status_code == 409
    assert "That day is too close to your other needling visit" in refused.text
    assert "at least 2 days apart" in refused.text and "Tuesday, March 2" in refused.text
    days = offered_days(refused.text[refused.text.index("too close") :])
    assert THURSDAY in days and not days & {TUESDAY, WEDNESDAY}
    chosen = local(THURSDAY, 9)
    page = refused.text
    data = {"csrf_token": csrf(page), "therapist": "any", "start": slot_param(chosen)}
    data["booking_key"] = re.search(r'name="booking_key" value="([^"]+)"', page).group(1)
    assert token_of(client.post("/book/follow-up/details", data=data))


def test_rescheduling_one_day_closer_is_refused_on_the_manage_page(app, client, clinic):
    token_of(book(client, "assessment", local(TUESDAY, 9)))
    follow_up = token_of(book_follow_up(client, app, local(THURSDAY, 14)))
    week = client.get(f"/manage/{follow_up}/reschedule?week={MONDAY}&day={WEDNESDAY}").text
    assert not offered_days(week) & {TUESDAY, WEDNESDAY}
    url = f"/manage/{follow_up}/reschedule/confirm"
    query = f"?therapist={clinic.maya}&start={slot_param(local(WEDNESDAY, 14))}"
    page = client.get(url + query).text
    data = {"csrf_token": csrf(page), "sequence": "0", "therapist": str(clinic.maya)}
    refused = client.post(url, data=data | {"start": slot_param(local(WEDNESDAY, 14))})
    assert refused.status_code == 409
    assert "at least 2 days apart" in refused.text
    assert offered_days(refused.text) and not offered_days(refused.text) & {TUESDAY, WEDNESDAY}
