"""In a browser, on a phone: the patient opens the link of "Book your next visit" and books
the next session with one tap; the manage page of the visit then offers nothing more."""

from __future__ import annotations

import re
from datetime import timedelta

from browser_support import PHONE, Checker, playwright_api, sqlite_only
from pages import slot_param
from support import MONDAY, NOW, details, local

from booking.services import booking, checkin
from booking.services.booking import BookingRequest
from booking.services.checkin import Mark

_playwright = playwright_api()
expect = _playwright.expect

TUESDAY = MONDAY + timedelta(days=1)
NEXT = local(TUESDAY + timedelta(days=7), 10)


def completed_visit(app, therapist: int, clock) -> booking.Booked:
    """A visit on Tuesday at 10, marked done an hour later: its next one is not booked."""
    with app.app_context():
        held = booking.book(
            BookingRequest("physio", local(TUESDAY, 10), details(1), therapist_id=therapist),
            now=NOW,
        )
        clock.now = local(TUESDAY, 11)
        checkin.mark(held.appointment.id, Mark.COMPLETED, actor="desk", now=clock.now)
    return held


@sqlite_only
def test_the_patient_rebooks_from_the_email_on_a_phone(
    app, live_server, therapist, clock, new_context, checker
):
    held = completed_visit(app, therapist, clock)
    page = new_context(**PHONE).new_page()
    check: Checker = checker(page)
    page.goto(f"{live_server}/manage/{held.manage_token}/next?start={slot_param(NEXT)}")
    expect(page.get_by_role("heading", level=1, name="Book your next visit")).to_be_visible()
    expect(page.get_by_text("Tuesday, March 9, 2027, 10:00 a.m.")).to_be_visible()
    check("next-visit-confirm")
    page.get_by_role("button", name="Book it").tap()
    expect(page.get_by_role("heading", level=1, name="You are booked")).to_be_visible()
    expect(page.get_by_text("Tuesday, March 9, 2027, 10:00 a.m.")).to_be_visible()
    check("next-visit-booked")
    page.goto(f"{live_server}/manage/{held.manage_token}")
    expect(page.get_by_role("heading", name=re.compile("Book your next visit"))).to_have_count(0)
    check("visit-page-after")


@sqlite_only
def test_the_offer_on_the_visit_page_books_with_one_tap(
    app, live_server, therapist, clock, new_context, checker
):
    held = completed_visit(app, therapist, clock)
    page = new_context(**PHONE).new_page()
    check: Checker = checker(page)
    page.goto(f"{live_server}/manage/{held.manage_token}")
    offer = page.get_by_role("region", name="Book your next visit")
    expect(offer).to_contain_text("Tuesday, March 9, 2027, 10:00 a.m.")
    check("visit-page-offer")
    offer.get_by_role("button", name=re.compile("^Book it")).focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1, name="You are booked")).to_be_visible()
    check("booked-by-keyboard")
