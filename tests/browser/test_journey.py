"""The booking journey in a real browser: on a phone, two patients racing, a taken form.

"Now" is Monday 1 March 2027 08:00 in Vancouver; with 12 hours' notice the first free times
are on Tuesday 2 March. Maya Chen works 09:00-12:00 and 13:00-17:00 every day.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

from browser_support import (
    PHONE,
    Checker,
    accessibility_problems,
    sqlite_only,
)
from journey import (
    OTHER,
    PATIENT,
    REFERENCE,
    answer_screening,
    appointment_row,
    expect,
    expect_details_kept,
    fill_details,
    slot,
    summary_value,
)
from support import BORN, MONDAY, local

from booking.services import booking


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
            patient=booking.PatientDetails(
                PATIENT["name"], PATIENT["email"], PATIENT["phone"], date_of_birth=BORN
            ),
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
