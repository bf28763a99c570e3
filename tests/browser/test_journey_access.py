"""The journey without a mouse, without JavaScript, under the CSP, and the follow-up rule.

"Now" is Monday 1 March 2027 08:00 in Vancouver; with 12 hours' notice the first free times
are on Tuesday 2 March. Maya Chen works 09:00-12:00 and 13:00-17:00 every day.
"""

from __future__ import annotations

import re

from browser_support import (
    accessibility_problems,
    sqlite_only,
)
from journey import (
    OTHER,
    PATIENT,
    answer_screening,
    expect,
    expect_details_kept,
    expect_focus_visible,
    fill_details,
    focus_until,
    slot,
    summary_value,
)

from booking.models import QUESTIONS


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
    expect_focus_visible(page, "input[name=date_of_birth]")
    # The date's parts move on by themselves as they fill; Chromium orders them as its own
    # interface language does (en-US here: month, day, year), whatever the page's locale.
    year, month, day = OTHER["born"].split("-")
    page.keyboard.type(month + day + year)
    expect(page.locator("input[name=date_of_birth]")).to_have_value(OTHER["born"])
    expect(page.get_by_label("Your name")).to_be_hidden()  # asked only for "Someone else"
    focus_until(page, "input[name=email]", limit=3)  # past the date's own picker button
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
def test_an_unverified_follow_up_offers_the_link_and_the_assessment(
    live_server, new_context, axe_source, shots
):
    page = new_context().new_page()
    page.goto(live_server + "/book")
    returning = page.get_by_role("link", name=re.compile(r"^I've been before: IMS follow-up"))
    assert returning.get_attribute("href") == "/been-here-before"
    page.goto(live_server + "/book/follow-up")  # the services' own page still leads here
    page.get_by_role("link", name=re.compile(r"^Maya Chen")).click()
    slot(page, "10:00 a.m., Wednesday, March 3, 2027").click()
    expect(page.get_by_role("heading", name="Your details")).to_be_visible()
    expect(page.get_by_role("heading", name="Safety questions before needling")).to_have_count(0)
    fill_details(page, OTHER, note="Right knee.")
    page.get_by_role("button", name="Book this time").click()

    notice = page.get_by_role("alert")
    expect(
        notice.get_by_role("heading", name="Been here before? Open your visits first")
    ).to_be_visible()
    expect(notice).to_be_focused()
    expect(notice.get_by_label("Email")).to_have_value(OTHER["email"])
    expect(notice.get_by_role("button", name="Email me a link")).to_be_visible()
    shots(page, "verify-first")
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
    expect(summary).to_contain_text("Please check these 4 answers")
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
