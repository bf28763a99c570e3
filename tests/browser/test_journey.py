"""The booking journey in a real browser: phone, race, keyboard, follow-up rule, no JS, CSP.

"Now" is Monday 1 March 2027 08:00 in Vancouver; with 12 hours' notice the first free times
are on Tuesday 2 March. Maya Chen works 09:00-12:00 and 13:00-17:00 every day.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from browser_support import (
    PHONE,
    Checker,
    accessibility_problems,
    playwright_api,
    sqlite_only,
)
from flask import Flask
from sqlalchemy import select
from support import MONDAY, local

from booking.extensions import db
from booking.models import QUESTIONS, Appointment, Screening
from booking.services import booking

_playwright = playwright_api()
Locator = _playwright.Locator
Page = _playwright.Page
expect = _playwright.expect

REFERENCE = re.compile(r"^[346789ABCDEFGHJKMNPQRTUVWXY]{4}-[346789ABCDEFGHJKMNPQRTUVWXY]{4}$")
PATIENT = {"name": "Alex Rivera", "email": "alex.rivera@example.com", "phone": "604-555-0111"}
OTHER = {"name": "Sam Okafor", "email": "sam.okafor@example.com", "phone": "778-555-0122"}


def fill_details(page: Page, who: dict[str, str], note: str = "") -> None:
    page.get_by_label("Full name").fill(who["name"])
    page.get_by_label("Email").fill(who["email"])
    page.get_by_label("Mobile phone").fill(who["phone"])
    if note:
        page.get_by_label("Anything the therapist should know? (optional)").fill(note)


def expect_details_kept(page: Page, who: dict[str, str]) -> None:
    expect(page.get_by_label("Full name")).to_have_value(who["name"])
    expect(page.get_by_label("Email")).to_have_value(who["email"])
    expect(page.get_by_label("Mobile phone")).to_have_value(who["phone"])


def answer_screening(page: Page, yes: tuple[str, ...] = ()) -> None:
    """Answer every safety question ("Yes" to the keys in `yes`) and give consent."""
    for key, question in QUESTIONS:
        group = page.get_by_role("group", name=question)
        group.get_by_role("radio", name="Yes" if key in yes else "No").check()
    page.get_by_role("checkbox", name=re.compile(r"^I understand what IMS involves")).check()


def slot(page: Page, text: str) -> Locator:
    """Return the time link named like "10:00 a.m., Wednesday, March 3, 2027".

    The picker shows one day's times: when the time is on another day, tap that day first
    (a link without JavaScript, a switch with it).
    """
    panel = page.locator("[data-day-panel]").filter(
        has=page.locator(f'a.slot[aria-label="{text}"]')
    )
    if panel.count() == 1 and panel.is_hidden():
        day = panel.get_attribute("data-day-panel")
        page.locator(f'a.day-tab[data-day="{day}"]').click()
    return page.get_by_role("link", name=text, exact=True)


def summary_value(page: Page, term: str) -> Locator:
    """Return the <dd> that follows the <dt> `term` in the page's summary."""
    return page.locator("dl.summary dt", has_text=re.compile(f"^{term}$")).locator(
        "xpath=following-sibling::dd[1]"
    )


def focus_until(page: Page, selector: str, *, key: str = "Tab", limit: int = 80) -> None:
    """Press `key` until the focused element matches `selector` (at most `limit` times)."""
    for _ in range(limit):
        page.keyboard.press(key)
        if page.evaluate("(s) => document.activeElement?.matches(s) ?? false", selector):
            return
    pytest.fail(f"{selector} was not reached with {limit} presses of {key}")


def expect_focus_visible(page: Page, selector: str) -> None:
    focused = page.locator(selector)
    expect(focused).to_be_focused()
    style = focused.evaluate(
        """(el) => {
            const style = getComputedStyle(el);
            return {visible: el.matches(":focus-visible"), style: style.outlineStyle,
                    width: parseFloat(style.outlineWidth)};
        }"""
    )
    assert style["visible"], f"{selector} is focused but not :focus-visible"
    assert style["style"] != "none" and style["width"] >= 2, f"{selector} has no outline: {style}"


def appointment_row(app: Flask, reference: str) -> tuple[Appointment, Screening | None]:
    with app.app_context():
        appointment = db.session.scalar(
            select(Appointment).where(Appointment.reference == reference)
        )
        screening = db.session.get(Screening, appointment.id)
        db.session.expunge_all()
        return appointment, screening


@sqlite_only
def test_whole_journey_on_a_phone(app, live_server, new_context, checker, tmp_path: Path):
    page = new_context(**PHONE).new_page()
    check: Checker = checker(page)

    page.goto(live_server + "/")
    expect(page.get_by_role("heading", level=1, name="Test Clinic")).to_be_visible()
    check("start")
    page.get_by_role("link", name="Book an appointment").click()

    expect(page.get_by_role("heading", name="What would you like to book?")).to_be_visible()
    check("services")
    page.get_by_role("link", name=re.compile(r"^I'm new here: IMS initial assessment")).click()

    expect(page.get_by_role("heading", name="Who would you like to see?")).to_be_visible()
    check("therapists")
    page.get_by_role("link", name=re.compile(r"^Maya Chen")).click()

    expect(page.get_by_role("heading", name="Choose a time")).to_be_visible()
    expect(page.get_by_text("IMS initial assessment (60 minutes) with Maya Chen")).to_be_visible()
    check("times")
    slot(page, "10:00 a.m., Wednesday, March 3, 2027").click()

    expect(page.get_by_role("heading", name="Your details")).to_be_visible()
    expect(summary_value(page, "When")).to_have_text(
        "Wednesday, March 3, 2027, 10:00 a.m. (Pacific time)"
    )
    expect(page.get_by_role("heading", name="Safety questions before needling")).to_be_visible()
    fill_details(page, PATIENT, note="Left shoulder, since January.")
    answer_screening(page, yes=("needle_phobia",))
    check("details")
    page.get_by_role("button", name="Book this time").click()

    expect(page.get_by_role("heading", level=1, name="You are booked")).to_be_visible()
    assert re.search(r"/manage/[^/]+/confirmed$", page.url), page.url
    reference = summary_value(page, "Reference").inner_text().strip()
    assert REFERENCE.match(reference), reference
    expect(summary_value(page, "When")).to_have_text(
        "Wednesday, March 3, 2027, 10:00 a.m. (Pacific time)"
    )
    expect(summary_value(page, "With")).to_have_text("Maya Chen")
    check("confirmed")

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Add to calendar (.ics)").click()
    download = download_info.value
    assert download.suggested_filename == f"appointment-{reference}.ics"
    ics = tmp_path / download.suggested_filename
    download.save_as(ics)
    assert ics.read_text().startswith("BEGIN:VCALENDAR")
    google = page.get_by_role("link", name=re.compile(r"^Google Calendar"))
    assert google.get_attribute("href").startswith("https://calendar.google.com/calendar/render?")

    appointment, screening = appointment_row(app, reference)
    assert screening is not None and screening.needle_phobia and not screening.pregnant
    assert appointment.notes == "Left shoulder, since January."

    page.locator(".manage-link").get_by_role("link").click()
    expect(page.get_by_role("heading", level=1, name="Your appointment")).to_be_visible()
    expect(summary_value(page, "Reference")).to_have_text(reference)
    check("manage")
    page.get_by_role("link", name="Reschedule", exact=True).click()

    expect(page.get_by_role("heading", name="Choose a new time")).to_be_visible()
    check("reschedule")
    slot(page, "2:00 p.m., Thursday, March 4, 2027").click()

    expect(page.get_by_role("heading", name="Move your appointment?")).to_be_visible()
    expect(summary_value(page, "To")).to_have_text(
        "Thursday, March 4, 2027, 2:00 p.m. (Pacific time)"
    )
    check("reschedule-confirm")
    page.get_by_role("button", name="Yes, move my appointment").click()

    expect(page.get_by_role("heading", level=1, name="Your appointment")).to_be_visible()
    expect(page.get_by_role("status")).to_have_text(
        "Your appointment has been moved to the new time."
    )
    expect(summary_value(page, "When")).to_have_text(
        "Thursday, March 4, 2027, 2:00 p.m. (Pacific time)"
    )
    check("rescheduled")
    page.get_by_role("link", name="Cancel appointment").click()

    expect(page.get_by_role("heading", name="Cancel this appointment?")).to_be_visible()
    page.get_by_label("Reason (optional)").fill("Feeling much better already.")
    check("cancel")
    page.get_by_role("button", name="Yes, cancel it").click()

    expect(page.get_by_role("status")).to_have_text("Your appointment has been cancelled.")
    expect(page.get_by_text("This appointment was cancelled.")).to_be_visible()
    expect(page.get_by_role("link", name="Reschedule", exact=True)).to_have_count(0)
    check("cancelled")

    appointment, _ = appointment_row(app, reference)
    assert appointment.status == "cancelled"
    assert appointment.cancel_reason == "Feeling much better already."


def test_two_patients_race_for_one_time(
    live_server, therapist, new_context, axe_source, shots, database_url
):
    times = f"{live_server}/book/physio/times?therapist={therapist}&week=2027-03-01"
    pages = {}
    for who in ("a", "b"):
        page = new_context().new_page()
        page.goto(times)
        slot(page, "10:00 a.m., Tuesday, March 2, 2027").click()
        expect(page.get_by_role("heading", name="Your details")).to_be_visible()
        pages[who] = page
    a, b = pages["a"], pages["b"]
    fill_details(a, PATIENT)
    fill_details(b, OTHER)
    shots(a, "a-details")
    shots(b, "b-details")

    a.get_by_role("button", name="Book this time").click()
    expect(a.get_by_role("heading", level=1, name="You are booked")).to_be_visible()
    expect(summary_value(a, "When")).to_have_text(
        "Tuesday, March 2, 2027, 10:00 a.m. (Pacific time)"
    )
    shots(a, "a-confirmed")

    with b.expect_response(lambda r: r.request.method == "POST") as answer:
        b.get_by_role("button", name="Book this time").click()
    assert answer.value.status == 409
    notice = b.get_by_role("alert")
    expect(notice).to_contain_text("Sorry, that time was just taken")
    expect(notice).to_be_focused()
    expect(summary_value(b, "When")).to_contain_text("(no longer free)")
    alternatives = b.get_by_role("group", name=re.compile(r"^Nearest free times")).get_by_role(
        "radio"
    )
    expect(alternatives.first).to_be_visible()
    assert 1 <= alternatives.count() <= 5
    expect_details_kept(b, OTHER)
    shots(b, "b-taken")
    assert not (problems := accessibility_problems(b, axe_source)), problems

    first = b.locator("label.slot-choice").first
    chosen = first.inner_text().strip()
    assert chosen != "Tuesday, March 2, 2027, 10:00 a.m. (Pacific time)"
    alternatives.first.check()
    b.get_by_role("button", name="Book the chosen time").click()
    expect(b.get_by_role("heading", level=1, name="You are booked")).to_be_visible()
    expect(summary_value(b, "When")).to_have_text(chosen)
    shots(b, "b-confirmed")


@sqlite_only
def test_sending_the_taken_form_without_choosing_a_time_keeps_it(
    app, live_server, therapist, new_context, clock
):
    page = new_context().new_page()
    page.goto(f"{live_server}/book/physio/details?therapist={therapist}&start=20270302T1800Z")
    fill_details(page, OTHER)
    with app.app_context():  # somebody else takes the time meanwhile
        taken = booking.BookingRequest(
            service="physio",
            start=local(MONDAY + timedelta(days=1), 10),
            patient=booking.PatientDetails(**PATIENT),
            therapist_id=therapist,
        )
        booking.book(taken, now=clock())
    page.get_by_role("button", name="Book this time").click()
    expect(page.get_by_role("alert")).to_contain_text("Sorry, that time was just taken")

    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.get_by_role("button", name="Book the chosen time").click()
    assert answer.value.status != 400, page.locator("main").inner_text()
    expect(page.get_by_role("group", name=re.compile(r"^Nearest free times"))).to_be_visible()
    expect_details_kept(page, OTHER)


@sqlite_only
def test_keyboard_only_booking(live_server, therapist, new_context, shots):
    page = new_context().new_page()
    page.goto(live_server + "/book/physio")
    expect(page.get_by_role("heading", name="Who would you like to see?")).to_be_visible()

    page.keyboard.press("Tab")
    expect_focus_visible(page, "a.skip")
    expect(page.get_by_role("link", name="Skip to content")).to_be_in_viewport()
    shots(page, "skip-link")
    focus_until(page, f"a.choice-card[href$='therapist={therapist}']")
    expect_focus_visible(page, "a.choice-card:focus")
    expect(page.locator(":focus")).to_contain_text("Maya Chen")
    shots(page, "therapist-focused")
    page.keyboard.press("Enter")

    expect(page.get_by_role("heading", name="Choose a time")).to_be_visible()
    focus_until(page, "a.slot")
    expect_focus_visible(page, "a.slot:focus")
    expect(page.locator(":focus")).to_have_accessible_name("9:00 a.m., Tuesday, March 2, 2027")
    shots(page, "slot-focused")
    page.keyboard.press("Enter")

    expect(page.get_by_role("heading", name="Your details")).to_be_visible()
    focus_until(page, "input[name=name]")
    expect_focus_visible(page, "input[name=name]")
    page.keyboard.type(OTHER["name"])
    page.keyboard.press("Tab")
    expect_focus_visible(page, "input[name=email]")
    page.keyboard.type(OTHER["email"])
    page.keyboard.press("Tab")
    expect_focus_visible(page, "input[name=phone]")
    page.keyboard.type(OTHER["phone"])
    page.keyboard.press("Tab")
    expect_focus_visible(page, "textarea[name=note]")
    page.keyboard.press("Tab")
    expect_focus_visible(page, "button[type=submit]")
    page.keyboard.press("Shift+Tab")
    expect_focus_visible(page, "textarea[name=note]")
    page.keyboard.type("Typed with the keyboard only.")
    page.keyboard.press("Tab")
    expect_focus_visible(page, "button[type=submit]")
    shots(page, "details-filled")
    page.keyboard.press("Space")

    expect(page.get_by_role("heading", level=1, name="You are booked")).to_be_visible()
    expect(summary_value(page, "When")).to_have_text(
        "Tuesday, March 2, 2027, 9:00 a.m. (Pacific time)"
    )
    expect(summary_value(page, "What")).to_contain_text("Physiotherapy assessment")
    shots(page, "confirmed")


@sqlite_only
def test_follow_up_without_an_assessment_offers_one(live_server, new_context, axe_source, shots):
    page = new_context().new_page()
    page.goto(live_server + "/book")
    page.get_by_role("link", name=re.compile(r"^I've been before: IMS follow-up")).click()
    page.get_by_role("link", name=re.compile(r"^Maya Chen")).click()
    slot(page, "10:00 a.m., Wednesday, March 3, 2027").click()
    expect(page.get_by_role("heading", name="Your details")).to_be_visible()
    expect(page.get_by_role("heading", name="Safety questions before needling")).to_have_count(0)
    fill_details(page, OTHER, note="Right knee.")
    page.get_by_role("button", name="Book this time").click()

    notice = page.get_by_role("alert")
    expect(notice.get_by_role("heading", name="Please book an assessment first")).to_be_visible()
    expect(notice).to_be_focused()
    expect_details_kept(page, OTHER)
    shots(page, "assessment-first")
    assert not (problems := accessibility_problems(page, axe_source)), problems
    notice.get_by_role("button", name="Book an IMS initial assessment instead").click()

    expect(page.get_by_role("heading", name="Your details")).to_be_visible()
    assert page.url.endswith("/book/assessment/details"), page.url
    expect(page.get_by_role("status")).to_contain_text(
        "You are now booking an IMS initial assessment at the same time."
    )
    expect(summary_value(page, "Appointment")).to_have_text("IMS initial assessment (60 minutes)")
    expect(summary_value(page, "With")).to_have_text("Maya Chen")
    expect(summary_value(page, "When")).to_have_text(
        "Wednesday, March 3, 2027, 10:00 a.m. (Pacific time)"
    )
    expect_details_kept(page, OTHER)
    expect(page.get_by_label("Anything the therapist should know? (optional)")).to_have_value(
        "Right knee."
    )
    expect(page.get_by_role("heading", name="Safety questions before needling")).to_be_visible()
    for _, question in QUESTIONS:
        expect(page.get_by_role("group", name=question)).to_be_visible()
    shots(page, "assessment-details")
    assert not (problems := accessibility_problems(page, axe_source)), problems

    answer_screening(page)
    page.get_by_role("button", name="Book this time").click()
    expect(page.get_by_role("heading", level=1, name="You are booked")).to_be_visible()
    expect(summary_value(page, "What")).to_have_text("IMS initial assessment (60 minutes)")
    shots(page, "confirmed")


@sqlite_only
def test_booking_works_without_javascript(live_server, new_context, shots):
    page = new_context(java_script_enabled=False).new_page()
    page.goto(live_server + "/")
    page.get_by_role("link", name="Book an appointment").click()
    page.get_by_role("link", name=re.compile(r"^Physiotherapy assessment")).click()
    page.get_by_role("link", name=re.compile(r"^First available")).click()
    expect(page.get_by_role("heading", name="Choose a time")).to_be_visible()
    shots(page, "times")
    slot(page, "11:00 a.m., Friday, March 5, 2027").click()
    fill_details(page, PATIENT)
    shots(page, "details")
    page.get_by_role("button", name="Book this time").click()

    expect(page.get_by_role("heading", level=1, name="You are booked")).to_be_visible()
    expect(summary_value(page, "When")).to_have_text(
        "Friday, March 5, 2027, 11:00 a.m. (Pacific time)"
    )
    expect(summary_value(page, "With")).to_have_text("Maya Chen")
    shots(page, "confirmed")


CSP_LISTENER = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => {
    window.__csp.push(`${e.effectiveDirective} blocked ${e.blockedURI || "inline"}`);
});
"""


@sqlite_only
def test_csp_is_enforced_and_the_site_script_runs(live_server, therapist, new_context, shots):
    context = new_context()
    context.add_init_script(CSP_LISTENER)
    page = context.new_page()
    console, errors, scripts = [], [], []
    page.on("console", lambda message: console.append(message.text))
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("response", lambda r: scripts.append(r) if "/static/js/" in r.url else None)

    details = f"{live_server}/book/physio/details?therapist={therapist}&start=20270302T1800Z"
    response = page.goto(details)
    assert response.status == 200
    assert "script-src 'self'" in response.headers["content-security-policy"]
    expect(page.get_by_role("heading", name="Your details")).to_be_visible()
    page.wait_for_load_state("load")
    assert [(r.url.removeprefix(live_server).split("?")[0], r.status) for r in scripts] == [
        ("/static/js/site.js", 200)
    ]

    # site.js runs under the policy: after a refused form it moves focus to the error summary.
    page.get_by_role("button", name="Book this time").click()
    summary = page.get_by_role("alert")
    expect(summary).to_contain_text("Please check these 3 answers")
    expect(summary).to_be_focused()
    shots(page, "errors-focused")
    assert page.evaluate("() => window.__csp") == []
    assert not [text for text in console if "Content Security Policy" in text], console
    assert errors == []

    # And the policy is enforced: an inline script is refused and reported.
    page.evaluate(
        """() => {
            const script = document.createElement("script");
            script.textContent = "window.__inlineRan = true";
            document.head.append(script);
        }"""
    )
    page.wait_for_function("() => window.__csp.length > 0")
    assert page.evaluate("() => window.__csp") == ["script-src-elem blocked inline"]
    assert page.evaluate("() => window.__inlineRan") is None
    assert [text for text in console if "Content Security Policy" in text], console
