"""What the journey tests share: patients' details, the steps they take, the rows written."""

from __future__ import annotations

import re

import pytest
from browser_support import (
    playwright_api,
)
from flask import Flask
from sqlalchemy import select

from booking.extensions import db
from booking.models import QUESTIONS, Appointment, Screening

_playwright = playwright_api()
Locator = _playwright.Locator
Page = _playwright.Page
expect = _playwright.expect

REFERENCE = re.compile(r"^[346789ABCDEFGHJKMNPQRTUVWXY]{4}-[346789ABCDEFGHJKMNPQRTUVWXY]{4}$")
PATIENT = {"name": "Alex Rivera", "email": "alex.rivera@example.com", "phone": "604-555-0111"}
PATIENT["born"] = "1984-11-02"
OTHER = {"name": "Sam Okafor", "email": "sam.okafor@example.com", "phone": "778-555-0122"}
OTHER["born"] = "1979-06-21"


def fill_details(page: Page, who: dict[str, str], note: str = "") -> None:
    """Fill the details step for a patient booking for themselves ("Me")."""
    page.get_by_role("group", name="Who is this visit for?").get_by_role(
        "radio", name="Me", exact=True
    ).check()
    page.get_by_label("Full name").fill(who["name"])
    page.get_by_label("Date of birth").fill(who["born"])
    page.get_by_label("Email").fill(who["email"])
    page.get_by_label("Mobile phone").fill(who["phone"])
    if note:
        page.get_by_label("Anything the therapist should know? (optional)").fill(note)


def expect_details_kept(page: Page, who: dict[str, str]) -> None:
    expect(page.get_by_label("Full name")).to_have_value(who["name"])
    expect(page.get_by_label("Date of birth")).to_have_value(who["born"])
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
