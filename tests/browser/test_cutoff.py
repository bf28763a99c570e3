"""In a browser, on a phone: times inside the change cut-off are marked, and a patient who
books one can still cancel it online in the grace period, then is told to call."""

from __future__ import annotations

from datetime import timedelta

from browser_support import PHONE, Checker, playwright_api, sqlite_only
from pages import slot_param
from support import MONDAY, local

_playwright = playwright_api()
expect = _playwright.expect

TUESDAY = MONDAY + timedelta(days=1)
TEN = local(MONDAY, 10)
INSIDE = local(TUESDAY, 9)  # 23 hours from TEN: inside the 24-hour cut-off
OUTSIDE = local(TUESDAY, 10)
LABEL = "can't be changed online later"
PATIENT = {"name": "Alex Rivera", "email": "alex.rivera@example.com", "phone": "604-555-0111"}
PATIENT["born"] = "1984-11-02"


@sqlite_only
def test_a_time_inside_the_cutoff_is_marked_and_stays_changeable_briefly(
    live_server, therapist, clock, new_context, checker
):
    clock.now = TEN
    page = new_context(**PHONE).new_page()
    check: Checker = checker(page)
    page.goto(f"{live_server}/book/physio/times?therapist={therapist}")
    inside = page.locator(f'a.slot[href*="start={slot_param(INSIDE)}"]')
    outside = page.locator(f'a.slot[href*="start={slot_param(OUTSIDE)}"]')
    expect(inside).to_contain_text(LABEL)
    expect(inside).to_be_visible()
    expect(page.get_by_role("link", name=LABEL)).not_to_have_count(0)  # in the name too
    expect(outside).not_to_contain_text(LABEL)
    expect(page.get_by_role("note")).to_contain_text("first 15 minutes after you book or move it")
    check("times-marked")
    inside.click()

    expect(page.get_by_role("heading", name="Your details")).to_be_visible()
    expect(page.get_by_role("note")).to_contain_text(LABEL.capitalize())
    page.get_by_label("Full name").fill(PATIENT["name"])
    page.get_by_label("Date of birth").fill(PATIENT["born"])
    page.get_by_label("Email").fill(PATIENT["email"])
    page.get_by_label("Mobile phone").fill(PATIENT["phone"])
    check("details-marked")
    page.get_by_role("button", name="Book this time").click()

    expect(page.get_by_role("heading", level=1, name="You are booked")).to_be_visible()
    expect(page.get_by_text("too late to change")).to_have_count(0)
    check("confirmed-in-grace")
    clock.advance(minutes=10)
    page.get_by_role("link", name="Cancel appointment").click()
    expect(page.get_by_role("heading", name="Cancel this appointment?")).to_be_visible()
    page.get_by_role("button", name="Yes, cancel it").click()
    expect(page.get_by_role("status")).to_have_text("Your appointment has been cancelled.")

    # A second booking there, looked at after the grace: the page says to call instead.
    page.goto(f"{live_server}/book/physio/details?therapist={therapist}&start={slot_param(INSIDE)}")
    page.get_by_label("Full name").fill(PATIENT["name"])
    page.get_by_label("Date of birth").fill(PATIENT["born"])
    page.get_by_label("Email").fill(PATIENT["email"])
    page.get_by_label("Mobile phone").fill(PATIENT["phone"])
    page.get_by_role("button", name="Book this time").click()
    expect(page.get_by_role("heading", level=1, name="You are booked")).to_be_visible()
    clock.advance(minutes=16)
    page.reload()
    locked = page.locator(".notice", has_text="It is too late to change this appointment online.")
    expect(locked).to_be_visible()
    expect(locked.get_by_role("link", name="604-555-0100")).to_be_visible()
    expect(page.get_by_role("link", name="Cancel appointment")).to_have_count(0)
    check("locked-after-grace")
