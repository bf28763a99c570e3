"""A course of care on a phone: the patient's progress in My visits, and the reports page.

Both at 360 px with axe-core: no sideways scroll, the chart scaled to the screen.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from browser_support import PHONE, Checker, sqlite_only
from journey import expect
from support import MONDAY, NOW, local, person
from test_household import emailed_path
from test_staff import PASSWORD

from booking.models import Course, Role, Source
from booking.services import accounts, booking, checkin
from booking.services.booking import BookingRequest
from booking.services.checkin import Mark

EMAIL = "ann.gill@example.com"
DAY = timedelta(days=1)


@pytest.fixture
def course(app, world, therapist, clock):
    """Ann's course of six with Maya: one done, one missed, one coming up; a desk account."""
    ann = person("Ann Gill", EMAIL)
    world.add(ann)
    row = Course(patient_id=ann.id, therapist_id=therapist, service_id=world.services["physio"].id,
                 sessions=6, created_by="reception", created_at=NOW - 20 * DAY)  # fmt: skip
    world.add(row)
    with app.app_context():
        ids = []
        for n in (1, 3, 8):
            request = BookingRequest(
                "physio", local(MONDAY + n * DAY, 9), person_id=ann.id, therapist_id=therapist,
                source=Source.STAFF, course_id=row.id,
            )  # fmt: skip
            ids.append(booking.book(request, now=NOW, actor="reception").appointment.id)
        checkin.mark(ids[0], Mark.COMPLETED, actor="reception", now=local(MONDAY + DAY, 10))
        checkin.mark(ids[1], Mark.NO_SHOW, actor="reception", now=local(MONDAY + 3 * DAY, 10))
        accounts.create_user(
            email="desk@clinic.example", name="Rita Desk", password=PASSWORD,
            role=Role.RECEPTION, therapist_id=None, actor="test", now=clock.now,
        )  # fmt: skip
    clock.now = NOW + 4 * DAY
    app.config["SESSION_COOKIE_SECURE"] = False
    return row.id


@sqlite_only
def test_the_patient_sees_her_course_on_a_phone(app, live_server, new_context, checker, clock,
                                                 course):  # fmt: skip
    page = new_context(**PHONE).new_page()
    check: Checker = checker(page)
    page.goto(live_server + "/been-here-before")
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_role("button", name="Email me a link").click()
    page.goto(live_server + emailed_path(app, clock))
    page.get_by_role("button", name="Open my visits").click()
    region = page.get_by_role("region", name="Course of care: 1 of 6 done")
    expect(region).to_contain_text("6 sessions planned with Maya Chen. 1 booked ahead.")
    expect(region.get_by_role("listitem")).to_have_count(3)
    expect(region.get_by_role("listitem").nth(1)).to_contain_text("missed")
    check("my-visits-course")


@sqlite_only
def test_reception_reads_the_reports_on_a_phone(live_server, new_context, checker, course):
    page = new_context(**PHONE).new_page()
    check: Checker = checker(page)
    page.goto(f"{live_server}/staff/login")
    page.get_by_label("Email").fill("desk@clinic.example")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name="Reports").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Courses of care")
    chart = page.get_by_role("img", name="Courses started and completed per month")
    expect(chart).to_be_visible()
    box = chart.bounding_box()
    assert box is not None and box["width"] <= 360 - 2 * 16
    assert box["width"] >= 280 and box["height"] >= 150  # the screen's width, not a stamp
    expect(page.get_by_role("table", name="Per therapist and month")).to_contain_text("Maya Chen")
    check("reports")
