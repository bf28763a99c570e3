"""A therapist on a tablet plans and books a course of care after an assessment.

In a real browser with axe-core on every page: the plan, the proposal (each session a group of
choices, one of them a colleague's or a later time), the booked course and its page.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from browser_support import sqlite_only
from support import ANSWERS, BORN, MONDAY, VANCOUVER, local
from test_staff import PASSWORD, check, expect, sign_in, unstyled_inputs

from booking.extensions import db
from booking.models import Appointment, Course, Role
from booking.services import accounts, booking
from booking.services.booking import BookingRequest, PatientDetails

TUESDAY = MONDAY + timedelta(days=1)


@pytest.fixture
def assessed(app, world, therapist, clock):
    """Maya's account, and Jordan Lee's IMS assessment with her on Tuesday at 09:00."""
    with app.app_context():
        accounts.create_user(
            email="maya@clinic.example", name="Maya", password=PASSWORD, role=Role.THERAPIST,
            therapist_id=therapist, actor="test", now=clock.now,
        )  # fmt: skip
        booked = booking.book(
            BookingRequest(
                service="assessment",
                start=local(TUESDAY, 9),
                therapist_id=therapist,
                patient=PatientDetails("Jordan Lee", "jordan@example.com", "604-555-0133",
                                       date_of_birth=BORN),
                screening=dict(ANSWERS),
            ),
            now=clock.now,
        )  # fmt: skip
    app.config["SESSION_COOKIE_SECURE"] = False
    world.assessment = booked.appointment.id
    return world


@sqlite_only
def test_a_therapist_books_a_course_after_an_assessment_on_a_tablet(
    live_server, app, assessed, new_context, axe_source, shots
):
    page = new_context(viewport={"width": 820, "height": 1180}).new_page()
    sign_in(page, live_server, "maya@clinic.example")
    page.goto(f"{live_server}/staff/appointments/{assessed.assessment}")
    page.get_by_role("link", name="Plan a course of care…").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Plan a course of care")
    expect(page.get_by_label("Each session")).to_have_value("follow-up")
    expect(page.get_by_label("Sessions", exact=True)).to_have_value("8")
    assert not unstyled_inputs(page)
    check(page, axe_source, shots, "plan")

    # Tuesdays and Thursdays, mornings: the keyboard reaches every choice.
    for day in ("Monday", "Wednesday", "Friday", "Saturday", "Sunday"):
        page.get_by_role("checkbox", name=day).uncheck()
    page.get_by_label("Not before (optional)").fill("09:00")
    page.get_by_label("Ending by (optional)").fill("12:00")
    page.get_by_role("button", name="Propose the visits").click()
    sessions = page.get_by_role("group", name=re.compile(r"^Session \d+"))
    expect(sessions).to_have_count(8)
    check(page, axe_source, shots, "proposal")
    first = page.get_by_role("group", name=re.compile(r"^Session 1 "))
    expect(first.get_by_role("radio", checked=True)).to_have_accessible_name(
        re.compile(r"^Tue, Mar 9, 9:00 a\.m\., Maya Chen")  # the legend names the year
    )
    # The last session waits: booked later from the course page.
    last = page.get_by_role("group", name=re.compile(r"^Session 8 "))
    last.get_by_role("radio", name="Book later").focus()
    page.keyboard.press("Space")
    expect(last.get_by_role("radio", name="Book later")).to_be_checked()
    page.get_by_role("button", name="Book these visits").click()

    expect(page.get_by_role("status")).to_contain_text("Booked 7 visits")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Course of care")
    expect(page.locator(".facts")).to_contain_text("0 of 8 done")
    expect(page.locator(".facts")).to_contain_text("1 left to book")
    check(page, axe_source, shots, "course")
    with app.app_context():
        course = db.session.query(Course).one()
        starts = [a.start_at for a in db.session.query(Appointment).filter_by(course_id=course.id)]
    assert len(starts) == 7
    assert all(s.astimezone(VANCOUVER).weekday() in (1, 3) for s in starts)

    page.get_by_role("link", name="Book the 1 session left").click()
    page.get_by_role("button", name="Propose the visits").click()
    expect(page.get_by_role("group", name=re.compile(r"^Session \d+"))).to_have_count(1)
    page.get_by_role("button", name="Book these visits").click()
    expect(page.locator(".facts")).to_contain_text("8 booked ahead")
