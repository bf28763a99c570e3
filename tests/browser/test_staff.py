"""The staff workspace in a real browser, with axe-core on every page.

Reception signs in on a desk-sized screen, opens the day, cancels a visit and sees the day
change; a therapist on a tablet changes her hours and adds time off, and the patient site's
times change with them.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from browser_support import accessibility_problems, audit_all, playwright_api, sqlite_only
from support import BORN, MONDAY, local

from booking.models import Role
from booking.services import accounts, booking
from booking.services.booking import BookingRequest, PatientDetails

_playwright = playwright_api()
Page = _playwright.Page
expect = _playwright.expect
TUESDAY = MONDAY + timedelta(days=1)
PASSWORD = "correct horse battery"


@pytest.fixture
def desk(app, world, therapist, clock):
    """Accounts for reception and for Maya, and one visit with her on Tuesday at 09:00."""
    world.daniel = world.make_therapist("Daniel Okafor")
    with app.app_context():
        for email, role, linked in (
            ("desk@clinic.example", Role.RECEPTION, None),
            ("admin@clinic.example", Role.ADMIN, None),
            ("maya@clinic.example", Role.THERAPIST, therapist),
        ):
            accounts.create_user(
                email=email, name=email.split("@")[0].title(), password=PASSWORD, role=role,
                therapist_id=linked, actor="test", now=clock.now,
            )  # fmt: skip
        booking.book(
            BookingRequest(
                service="physio",
                start=local(TUESDAY, 9),
                therapist_id=therapist,
                patient=PatientDetails(
                    "Jordan Lee", "jordan@example.com", "604-555-0133", date_of_birth=BORN
                ),
            ),
            now=clock.now,
        )
    app.config["SESSION_COOKIE_SECURE"] = False
    return world


def sign_in(page: Page, base: str, email: str) -> None:
    page.goto(f"{base}/staff/day")
    expect(page).to_have_url(re.compile(r"/staff/login\?next="))
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def unstyled_inputs(page: Page) -> list[str]:
    """Password, number, date and time inputs drawn at the browser's default, tiny size."""
    return page.evaluate(
        """() => [...document.querySelectorAll(
                'main input[type=password], main input[type=number], main input[type=date],'
                + ' main input[type=time]')]
            .filter((el) => el.getBoundingClientRect().height < 44
                || getComputedStyle(el).borderTopWidth !== "2px")
            .map((el) => el.outerHTML.slice(0, 100))"""
    )


def check(page: Page, axe_source: str, shot, step: str) -> None:
    page.wait_for_load_state("load")
    shot(page, step)
    problems = accessibility_problems(page, axe_source)
    assert not problems, f"{step}: {problems}"
    problems = audit_all(page)  # the pages since the last step
    assert not problems, f"before {step}: {problems}"
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], f"{step}: the page scrolls sideways"


@sqlite_only
def test_reception_cancels_a_visit_and_the_day_shows_it(
    live_server, desk, new_context, axe_source, shots
):
    page = new_context(viewport={"width": 1280, "height": 900}).new_page()
    sign_in(page, live_server, "desk@clinic.example")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Monday, March 1, 2027")
    check(page, axe_source, shots, "day-monday")
    page.get_by_role("link", name=re.compile(r"Next day")).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Tuesday, March 2, 2027")
    visit = page.get_by_role("link", name=re.compile(r"9:00 a\.m\..*Jordan Lee"))
    expect(visit).to_contain_text("booked")
    check(page, axe_source, shots, "day-tuesday")

    visit.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Physiotherapy assessment")
    expect(page.get_by_role("link", name="jordan@example.com")).to_be_visible()
    check(page, axe_source, shots, "appointment")
    page.get_by_role("link", name="Cancel appointment…").click()
    check(page, axe_source, shots, "cancel")
    page.get_by_role("button", name="Cancel the appointment").click()
    expect(page.locator(".error-summary")).to_be_focused()  # the reason is required
    page.get_by_label("Reason").fill("Patient phoned: feeling better")
    page.get_by_role("button", name="Cancel the appointment").click()
    expect(page.get_by_role("status")).to_contain_text("The appointment is cancelled")
    expect(page.get_by_text("Patient phoned: feeling better")).to_be_visible()
    check(page, axe_source, shots, "cancelled")

    page.get_by_role("link", name=re.compile(r"Tuesday, March 2, 2027")).click()
    expect(page.get_by_role("link", name=re.compile(r"9:00 a\.m\..*Jordan Lee"))).to_contain_text(
        "cancelled"
    )
    check(page, axe_source, shots, "day-after")


@sqlite_only
def test_a_therapist_changes_hours_and_time_off_and_the_site_follows(
    live_server, desk, therapist, new_context, axe_source, shots
):
    page = new_context(viewport={"width": 820, "height": 1180}).new_page()  # a tablet
    times = f"{live_server}/book/physio/times?therapist={therapist}&week={TUESDAY}"
    page.goto(times)
    assert page.get_by_role("link", name="10:30 a.m., Tuesday, March 2, 2027").count() == 1
    assert page.get_by_role("link", name="2:00 p.m., Tuesday, March 2, 2027").count() == 1

    sign_in(page, live_server, "maya@clinic.example")
    check(page, axe_source, shots, "my-day")
    # The authorization matrix holds in the browser too: a colleague's pages are refused.
    for path in ("week", "hours", "time-off"):
        response = page.goto(f"{live_server}/staff/therapists/{desk.daniel}/{path}")
        assert response.status == 403, path
    assert page.goto(f"{live_server}/staff/admin").status == 403
    assert page.goto(f"{live_server}/staff/book").status == 403
    page.goto(f"{live_server}/staff/day")
    page.get_by_role("link", name="My week").click()
    check(page, axe_source, shots, "my-week")
    page.get_by_role("link", name="Weekly hours").click()
    check(page, axe_source, shots, "hours")
    tuesday = page.get_by_role("group", name="Tuesday")
    tuesday.get_by_label("Period 1 from").fill("09:00")
    tuesday.get_by_label("to").first.fill("10:00")
    page.get_by_role("button", name="Save weekly hours").click()
    expect(page.get_by_role("status")).to_contain_text("The weekly hours are saved")
    check(page, axe_source, shots, "hours-saved")

    page.get_by_role("link", name="Time off").click()
    page.get_by_label("First day").fill(TUESDAY.isoformat())
    page.get_by_label("From").fill("13:00")
    page.get_by_label("Until").fill("15:00")
    page.get_by_label("Reason").fill("Course")
    page.get_by_role("button", name="Add time off").click()
    expect(page.get_by_role("status")).to_contain_text("The time off is saved")
    expect(
        page.get_by_text(re.compile(r"Tuesday, March 2, 2027, 1:00 p.m..*Course"))
    ).to_be_visible()
    check(page, axe_source, shots, "time-off")

    page.goto(times)
    assert page.get_by_role("link", name="10:30 a.m., Tuesday, March 2, 2027").count() == 0
    assert page.get_by_role("link", name="2:00 p.m., Tuesday, March 2, 2027").count() == 0
    assert page.get_by_role("link", name="3:00 p.m., Tuesday, March 2, 2027").count() == 1


@sqlite_only
def test_reception_books_a_phone_caller(live_server, desk, new_context, axe_source, shots):
    page = new_context(viewport={"width": 1280, "height": 900}).new_page()
    sign_in(page, live_server, "desk@clinic.example")
    page.get_by_role("link", name="Book", exact=True).click()
    page.get_by_label("Service").select_option(label="Physiotherapy assessment (45 min)")
    page.get_by_label("Day").fill(TUESDAY.isoformat())
    page.get_by_role("button", name="Show free times").click()
    check(page, axe_source, shots, "free-times")
    page.get_by_role("link", name="1:00 p.m. Maya Chen").click()
    check(page, axe_source, shots, "caller-details")
    page.get_by_label("Name, email, phone or date of birth").fill("Jordan")
    page.get_by_role("button", name="Search").click()
    expect(page.locator(".matches")).to_contain_text("born May 17, 1980 · jordan@example.com")
    page.get_by_role("link", name="Jordan Lee").click()
    # A person on record is booked as they are on record: their details are shown, not asked.
    expect(page.locator(".facts")).to_contain_text("jordan@example.com")
    expect(page.get_by_role("textbox", name="Email")).to_have_count(0)
    check(page, axe_source, shots, "caller-on-record")
    page.get_by_role("button", name="Book", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("Booked.")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Physiotherapy assessment")
    check(page, axe_source, shots, "phone-booked")
    page.goto(f"{live_server}/staff/day?date={TUESDAY}")
    expect(page.get_by_role("link", name=re.compile(r"1:00 p\.m\..*Jordan Lee"))).to_be_visible()

    # The caller rings back: move the visit to Daniel at 14:00.
    page.get_by_role("link", name=re.compile(r"1:00 p\.m\..*Jordan Lee")).click()
    page.get_by_role("link", name="Move…").click()
    page.get_by_label("Therapist").select_option(label="Daniel Okafor")
    page.get_by_role("button", name="Show free times").click()
    check(page, axe_source, shots, "move")
    page.get_by_role("button", name=re.compile(r"^2:00 p\.m\. Daniel Okafor")).click()
    # One more step before anything moves: before and after, and who is emailed.
    expect(page.get_by_role("heading", level=1)).to_contain_text("Move Physiotherapy assessment")
    expect(page.locator("#before")).to_contain_text("Maya Chen")
    expect(page.locator("#after")).to_contain_text("Daniel Okafor")
    # The patient is emailed; neither therapist has an address here, and the page says so.
    expect(page.locator(".told li")).to_have_count(3)
    expect(page.locator(".told li").first).to_contain_text("jordan@example.com")
    check(page, axe_source, shots, "move-confirm")
    page.get_by_role("button", name="Move it").click()
    expect(page.get_by_role("status")).to_contain_text("Moved.")
    expect(page.get_by_text("from Maya Chen to Daniel Okafor")).to_be_visible()
    page.goto(f"{live_server}/staff/day?date={TUESDAY}")
    moved = page.get_by_role("link", name=re.compile(r"2:00 p\.m\..*Jordan Lee"))
    expect(moved).to_have_class(re.compile(r"gc-3"))  # Daniel's column
    check(page, axe_source, shots, "day-after-move")


@sqlite_only
def test_admin_pages_are_accessible(live_server, desk, therapist, new_context, axe_source, shots):
    page = new_context(viewport={"width": 1280, "height": 900}).new_page()
    sign_in(page, live_server, "admin@clinic.example")
    page.get_by_role("link", name="Admin").click()
    check(page, axe_source, shots, "admin")
    for name, step in (
        ("Clinic settings and policies", "settings"),
        ("Clinic closures", "closures"),
    ):
        page.get_by_role("link", name=name).click()
        check(page, axe_source, shots, step)
        assert page.locator("main input[type=number], main input[type=date]").count() >= 1, step
        assert not unstyled_inputs(page), f"{step}: {unstyled_inputs(page)}"
        page.get_by_role("link", name="← Admin").click()
    page.get_by_role("link", name="Maya Chen").click()
    check(page, axe_source, shots, "therapist")
    assert page.locator('main input[type="date"]').count() >= 1
    assert not unstyled_inputs(page), unstyled_inputs(page)
    page.get_by_label("IMS certified").check()
    page.get_by_label("IMS certification expires").fill("2027-02-28")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_contain_text("Maya Chen is saved.")
    expect(page.get_by_text("Lapsed Sunday, February 28, 2027")).to_be_visible()
    for name, step in (("Add a service", "service"), ("Add an account", "account")):
        page.get_by_role("link", name=name).click()
        check(page, axe_source, shots, step)
        page.get_by_role("link", name="← Admin").click()
    page.get_by_role("link", name="New password for Desk").click()
    check(page, axe_source, shots, "account-password")
    assert not unstyled_inputs(page), unstyled_inputs(page)
    page.get_by_role("link", name="Password", exact=True).click()
    expect(page.get_by_role("heading", name="Change your password")).to_be_visible()
    page.wait_for_load_state("load")  # the stylesheet, before measuring the inputs
    assert page.locator('input[type="password"]').count() == 3
    assert not unstyled_inputs(page), unstyled_inputs(page)
    page.go_back()
    page.get_by_label("New password", exact=True).fill("a brand new long password")
    page.get_by_label("New password again").fill("a brand new long password")
    page.get_by_role("button", name="Set the new password").click()
    expect(page.get_by_role("status")).to_contain_text("Desk has a new password")


@sqlite_only
def test_time_off_over_a_visit_asks_reception_to_move_it(
    live_server, desk, therapist, new_context, axe_source, shots
):
    desk.time_off(therapist, local(TUESDAY, 0), local(TUESDAY + timedelta(days=1), 0))
    page = new_context(viewport={"width": 1280, "height": 900}).new_page()
    sign_in(page, live_server, "desk@clinic.example")
    moving = page.locator("#moving-total")
    expect(moving).to_contain_text("1 upcoming booked visit needs moving")
    check(page, axe_source, shots, "landing-count")
    page.get_by_role("link", name=re.compile(r"Next day")).click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("1 booked visit needs moving")
    expect(page.get_by_text("Time off: off (all day)")).to_be_visible()
    expect(page.locator("a.visit.needs-moving")).to_contain_text("needs moving: time off")
    check(page, axe_source, shots, "day-needs-moving")
    alert.get_by_role("link", name=re.compile(r"^Move ")).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Move Physiotherapy")
    check(page, axe_source, shots, "move")


@sqlite_only
def test_reception_corrects_decides_and_merges_a_record(
    live_server, desk, app, clock, therapist, new_context, axe_source, shots
):
    with app.app_context():  # Jordan books online again: a new phone, and from a work email
        for email, phone, hour in (
            ("jordan@example.com", "604-555-0144", 13),
            ("jordan.work@example.com", "604-555-0133", 15),
        ):
            booking.book(
                BookingRequest(service="physio", start=local(TUESDAY, hour),
                               therapist_id=therapist,
                               patient=PatientDetails("Jordan Lee", email, phone,
                                                      date_of_birth=BORN)),
                now=clock.now,
            )  # fmt: skip
    for viewport in ({"width": 1280, "height": 900}, {"width": 360, "height": 740}):
        page = new_context(viewport=viewport).new_page()
        sign_in(page, live_server, "desk@clinic.example")
        page.goto(f"{live_server}/staff/patients")
        check(page, axe_source, shots, f"patients-{viewport['width']}")
    expect(page.get_by_role("heading", name="Proposed changes to review (1)")).to_be_visible()
    page.get_by_label("Name, email, phone or date of birth").fill("May 17, 1980")
    page.get_by_role("button", name="Search").click()
    expect(page.locator(".matches").first.locator("li")).to_have_count(2)
    page.get_by_role("link", name="Jordan Lee").first.click()
    expect(page.get_by_role("heading", name="Proposed changes (1)")).to_be_visible()
    expect(page.get_by_role("heading", name="Possible duplicates")).to_be_visible()
    check(page, axe_source, shots, "record")
    page.get_by_role("button", name=re.compile(r"^Accept the phone")).click()
    expect(page.get_by_role("status")).to_contain_text("Accepted")
    expect(page.locator(".facts").first).to_contain_text("(604) 555-0144")

    page.get_by_label("Preferred name (optional)").fill("Jo")
    page.get_by_label("Date of birth").fill("2030-01-01")
    page.get_by_role("button", name="Save the details").click()
    expect(page.locator(".error-summary")).to_be_focused()
    check(page, axe_source, shots, "record-error")
    page.get_by_label("Date of birth").fill(BORN.isoformat())
    page.get_by_role("button", name="Save the details").click()
    expect(page.get_by_role("status")).to_contain_text("Saved.")
    expect(page.get_by_role("heading", level=1)).to_contain_text("(Jo)")

    page.get_by_role("link", name=re.compile(r"^Merge…")).click()
    check(page, axe_source, shots, "merge")
    page.get_by_role("radio").first.check()  # keep the record we came from
    page.get_by_role("button", name="Merge the records").click()
    expect(page.get_by_role("status")).to_contain_text("Merged")
    expect(page.get_by_role("heading", name="Possible duplicates")).to_have_count(0)
    expect(page.get_by_role("table").first.locator("tbody tr")).to_have_count(3)
    check(page, axe_source, shots, "merged")

    page.get_by_role("table").first.get_by_role("link").first.click()
    page.get_by_role("button", name="Resend confirmation").click()
    expect(page.get_by_role("status")).to_contain_text("on its way to the patient again")
    check(page, axe_source, shots, "resent")
