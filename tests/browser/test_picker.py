"""The time picker on a phone: a strip of days, one day's times by part of the day, the
first available therapist named before booking, and the budget of screens, taps and bytes.

"Now" is Monday, March 1, 2027, 8:00 a.m. in Vancouver (see tests/support.py).
"""

from __future__ import annotations

import re
from typing import Any

from browser_support import PAGE_BUDGET, PHONE, Checker, playwright_api, sqlite_only
from sqlalchemy import select
from test_journey import PATIENT, fill_details, summary_value

from booking.extensions import db
from booking.models import QUESTIONS, Appointment, Screening

_playwright = playwright_api()
Page = _playwright.Page
expect = _playwright.expect
MAX_SCREENS = 5
MAX_TAPS = 12


class Budget:
    """Count what a patient spends: screens (page loads) and taps (clicks and checks)."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.screens: list[str] = []
        self.taps = 0
        page.on("load", lambda: self.screens.append(page.url))

    def tap(self, target: Any, *, check: bool = False) -> None:
        self.taps += 1
        target.check() if check else target.click()


@sqlite_only
def test_a_new_patient_books_an_assessment_within_the_budget(
    app, live_server, therapist, new_context, checker
):
    page = new_context(**PHONE).new_page()
    check: Checker = checker(page)
    budget = Budget(page)

    page.goto(live_server + "/")
    check("start")
    budget.tap(page.get_by_role("link", name=re.compile(r"^see the first free times")).first)

    expect(page.get_by_role("heading", name="Choose a time")).to_be_visible()
    check("times")
    # The first day with a time opens by itself: Tuesday (today, Monday, has none left).
    strip = page.get_by_role("navigation", name="Days")
    expect(strip.locator("a[aria-current=date]")).to_have_attribute("data-day", "2027-03-02")
    budget.tap(page.locator("a.slot:visible").first)

    expect(page.get_by_role("heading", name="Your details")).to_be_visible()
    # "First available" is a person before the patient books.
    expect(summary_value(page, "With")).to_have_text("Maya Chen (first available)")
    fill_details(page, PATIENT)  # typing: not taps
    for _, question in QUESTIONS:
        group = page.get_by_role("group", name=question)
        budget.tap(group.get_by_role("radio", name="No"), check=True)
    consent = page.get_by_role("checkbox", name=re.compile(r"^I understand what IMS involves"))
    budget.tap(consent, check=True)
    check("details")
    budget.tap(page.get_by_role("button", name="Book this time"))

    expect(page.get_by_role("heading", level=1, name="You are booked")).to_be_visible()
    expect(summary_value(page, "With")).to_have_text("Maya Chen")
    check("confirmed")  # every page's HTML, CSS and JS stayed under PAGE_BUDGET

    assert len(budget.screens) <= MAX_SCREENS, budget.screens
    assert budget.taps <= MAX_TAPS, budget.taps
    assert PAGE_BUDGET == 100 * 1024
    with app.app_context():
        booked = db.session.scalar(select(Appointment))
        assert booked.therapist_id == therapist
        assert booked.start_at.isoformat() == "2027-03-02T17:00:00+00:00"
        assert db.session.get(Screening, booked.id) is not None


@sqlite_only
def test_the_picker_shows_one_day_at_a_time_grouped_by_part_of_the_day(
    live_server, therapist, new_context, shots
):
    page = new_context(**PHONE).new_page()
    page.goto(f"{live_server}/book/assessment/times?therapist={therapist}")
    tabs = page.locator(".day-strip > li")
    expect(tabs).to_have_count(7)  # Monday (today) to Sunday: no day before today
    today = tabs.first
    expect(today.locator("a")).to_have_count(0)  # greyed: nothing left today
    expect(today).to_contain_text("no times")
    shown = page.locator("[data-day-panel]:visible")
    expect(shown).to_have_count(1)
    expect(shown).to_have_attribute("data-day-panel", "2027-03-02")
    expect(shown.get_by_role("heading", level=3)).to_have_text(["Morning", "Afternoon"])
    visible = page.locator("a.slot:visible")
    # A week of a 60-minute assessment was 102 buttons on one long page: now one day's.
    assert visible.count() < 30
    height = page.evaluate("() => document.documentElement.scrollHeight")
    assert height < 2000, height
    shots(page, "tuesday")

    page.locator('a.day-tab[data-day="2027-03-04"]').click()
    expect(page.locator("[data-day-panel]:visible")).to_have_attribute(
        "data-day-panel", "2027-03-04"
    )
    expect(page.locator('a.day-tab[data-day="2027-03-04"]')).to_have_attribute(
        "aria-current", "date"
    )
    assert page.url.endswith("day=2027-03-04"), page.url
    starts = page.locator("a.slot:visible").evaluate_all(
        "(links) => links.map((a) => a.dataset.start)"
    )
    assert starts and all(s.startswith("2027-03-04T") for s in starts), starts
    shots(page, "thursday")


@sqlite_only
def test_the_day_strip_works_as_links_without_javascript(
    live_server, therapist, new_context, shots
):
    page = new_context(**PHONE, java_script_enabled=False).new_page()
    page.goto(f"{live_server}/book/assessment/times?therapist=any")
    with page.expect_navigation():
        page.locator('a.day-tab[data-day="2027-03-05"]').click()
    assert "day=2027-03-05" in page.url
    expect(page.locator("[data-day-panel]:visible")).to_have_attribute(
        "data-day-panel", "2027-03-05"
    )
    shots(page, "friday")
    page.locator("a.slot:visible").first.click()
    expect(summary_value(page, "With")).to_have_text("Maya Chen (first available)")
