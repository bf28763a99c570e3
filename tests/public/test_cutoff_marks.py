"""Times inside the change cut-off are marked wherever a patient is offered them, and a
booking or move there stays changeable online for the grace period (site and API agree)."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

import pytest
from pages import book, csrf, slot_param, token_of
from support import MONDAY, VANCOUVER, local

TUESDAY = MONDAY + timedelta(days=1)
TEN = local(MONDAY, 10)  # Tuesday 09:00 is 23 hours away: inside the 24-hour cut-off
INSIDE = local(TUESDAY, 9)
OUTSIDE = local(TUESDAY, 10)  # exactly 24 hours away: outside
LABEL = "be changed online later"  # "can't be changed online later", apostrophe escaped


@pytest.fixture
def clinic(world, clock):
    world.maya = world.make_therapist("Maya Chen")
    clock.now = TEN
    return world


def slots(page: str) -> dict[str, str]:
    """Return each offered start (its URL parameter) with the slot's class attribute."""
    found = {}
    for cls, href in re.findall(r'<a class="(slot[^"]*)" href="([^"]+)"', page):
        found[re.search(r"start=(\w+)", unescape(href)).group(1)] = cls
    return found


def test_the_booking_grid_marks_times_inside_the_cutoff(client, clinic):
    page = client.get(f"/book/physio/times?therapist={clinic.maya}").text
    offered = slots(page)
    assert offered[slot_param(INSIDE)] == "slot slot-late"
    assert offered[slot_param(OUTSIDE)] == "slot"
    assert LABEL in page
    assert "first 15 minutes after you book or move it" in page  # the note says why
    # The mark is text in the link, so in its accessible name: not only a colour or a border.
    link = re.search(rf'start={slot_param(INSIDE)}"[^>]*>(.*?)</a>', page).group(1)
    assert LABEL in link


def test_a_week_with_no_time_inside_the_cutoff_has_no_marks(client, clinic):
    page = client.get(f"/book/physio/times?therapist={clinic.maya}&week=2027-03-08").text
    assert "slot-late" not in page and LABEL not in page


def test_the_details_step_warns_about_a_time_inside_the_cutoff(client, clinic):
    url = "/book/physio/details?therapist={}&start={}"
    inside = client.get(url.format(clinic.maya, slot_param(INSIDE))).text
    outside = client.get(url.format(clinic.maya, slot_param(OUTSIDE))).text
    assert LABEL in inside and "late-note" in inside
    assert LABEL not in outside


def test_alternatives_inside_the_cutoff_are_marked(client, clinic):
    token_of(book(client, "physio", INSIDE, therapist=str(clinic.maya)))
    taken = client.get(f"/book/physio/details?therapist={clinic.maya}&start={slot_param(INSIDE)}")
    choices = re.findall(r'<label class="choice slot-choice">(.*?)</label>', taken.text, re.S)
    assert choices and any(LABEL in c for c in choices)


def test_a_booking_inside_the_cutoff_can_be_cancelled_during_the_grace(app, client, clinic, clock):
    token = token_of(book(client, "physio", INSIDE, therapist=str(clinic.maya)))
    confirmed = client.get(f"/manage/{token}/confirmed").text
    assert f'href="/manage/{token}/cancel"' in confirmed
    assert "too late to change" not in confirmed
    api = client.get(f"/api/v1/bookings/{token}").get_json()
    assert api["can_change_online"] is True
    assert api["change_deadline"] == (TEN + timedelta(minutes=15)).astimezone(VANCOUVER).isoformat()
    clock.advance(minutes=14)
    form = client.get(f"/manage/{token}/cancel").text
    done = client.post(
        f"/manage/{token}/cancel", data={"csrf_token": csrf(form), "sequence": "0", "reason": ""}
    )
    assert done.status_code == 303
    assert "has been cancelled" in client.get(f"/manage/{token}").text


def test_after_the_grace_the_page_says_to_call(client, clinic, clock):
    token = token_of(book(client, "physio", INSIDE, therapist=str(clinic.maya)))
    clock.advance(minutes=16)
    page = client.get(f"/manage/{token}").text
    assert "too late to change this appointment online" in page
    assert f"/manage/{token}/cancel" not in page
    assert client.get(f"/api/v1/bookings/{token}").get_json()["can_change_online"] is False


def test_the_reschedule_grid_and_confirm_mark_times_inside_the_cutoff(client, clinic, clock):
    far = local(TUESDAY + timedelta(days=2), 9)
    token = token_of(book(client, "physio", far, therapist=str(clinic.maya)))
    grid = client.get(f"/manage/{token}/reschedule?week=2027-03-01").text
    offered = slots(grid)
    assert offered[slot_param(INSIDE)] == "slot slot-late"
    assert offered[slot_param(OUTSIDE)] == "slot"
    confirm = f"/manage/{token}/reschedule/confirm?therapist={clinic.maya}&start="
    assert LABEL in client.get(confirm + slot_param(INSIDE)).text
    assert LABEL not in client.get(confirm + slot_param(OUTSIDE)).text


def test_a_move_into_the_cutoff_can_be_undone_during_the_grace(app, client, clinic, clock):
    far = local(TUESDAY + timedelta(days=2), 9)
    token = token_of(book(client, "physio", far, therapist=str(clinic.maya)))
    clock.advance(hours=1)  # an hour after booking: long past that booking's grace
    url = f"/manage/{token}/reschedule/confirm"
    page = client.get(f"{url}?therapist={clinic.maya}&start={slot_param(INSIDE)}").text
    data = {"csrf_token": csrf(page), "sequence": "0", "therapist": str(clinic.maya)}
    assert client.post(url, data=data | {"start": slot_param(INSIDE)}).status_code == 303
    clock.advance(minutes=10)
    shown = client.get(f"/manage/{token}").text
    assert f'href="/manage/{token}/reschedule"' in shown  # not locked by the move itself
    back = client.post(url, data=data | {"sequence": "1", "start": slot_param(far)})
    assert back.status_code == 303
    assert "has been moved" in client.get(f"/manage/{token}").text


def test_the_api_marks_offered_times_inside_the_cutoff(client, clinic):
    body = client.get(
        "/api/v1/availability?service=physio&from=2027-03-02&to=2027-03-02"
    ).get_json()
    marks = {slot["start"]: slot["inside_cutoff"] for slot in body["slots"]}
    assert marks[INSIDE.isoformat()] is True
    assert marks[OUTSIDE.isoformat()] is False
