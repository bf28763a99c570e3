"""A household in a real browser: a parent books for her child and for herself from one inbox,
then comes back through "Been here before?" and books the child's follow-up from My visits.

"Now" is Monday 1 March 2027 08:00 in Vancouver; Maya Chen works 09:00-12:00 and 13:00-17:00.
"""

from __future__ import annotations

import re
from email import message_from_bytes, policy

from browser_support import PHONE, Checker, sqlite_only
from flask import Flask
from journey import Page, answer_screening, expect, slot, summary_value
from sqlalchemy import select

from booking.extensions import db
from booking.mail.access import access_email
from booking.models import Appointment, Contact, Event, OutboxMessage, Patient, Screening

PARENT = {"name": "Ann Gill", "born": "1983-04-12", "phone": "604-555-0133"}
CHILD = {"name": "Tom Gill", "born": "2012-09-03"}
EMAIL = "ann.gill@example.com"


def book_assessment(page: Page, check: Checker, live_server: str, when: str) -> None:
    page.goto(live_server + "/book")
    page.get_by_role("link", name=re.compile(r"^I'm new here: IMS initial assessment")).click()
    page.get_by_role("link", name=re.compile(r"^Maya Chen")).click()
    slot(page, when).click()
    expect(page.get_by_role("heading", name="Your details")).to_be_visible()


def who(page: Page, choice: str) -> None:
    group = page.get_by_role("group", name="Who is this visit for?")
    group.get_by_role("radio", name=choice, exact=True).check()


def booked_reference(page: Page) -> str:
    page.get_by_role("button", name="Book this time").click()
    expect(page.get_by_role("heading", level=1, name="You are booked")).to_be_visible()
    return summary_value(page, "Reference").inner_text().strip()


def screenings_by_person(app: Flask) -> dict[str, dict[str, bool]]:
    """Each person's screening answers, read through Screening -> Appointment -> Patient."""
    with app.app_context():
        rows = db.session.execute(
            select(Patient.name, Screening)
            .join(Appointment, Appointment.id == Screening.appointment_id)
            .join(Patient, Patient.id == Appointment.patient_id)
        ).all()
        return {
            name: {"pregnant": s.pregnant, "needle_phobia": s.needle_phobia} for name, s in rows
        }


@sqlite_only
def test_a_parent_books_for_her_child_and_then_for_herself(app, live_server, new_context, checker):
    page = new_context(**PHONE).new_page()
    check: Checker = checker(page)

    # For the child: "Someone else", with his name and date of birth, and hers to write to.
    book_assessment(page, check, live_server, "10:00 a.m., Wednesday, March 3, 2027")
    expect(page.get_by_label("Your name")).to_be_hidden()  # asked only for someone else
    who(page, "Someone else")
    expect(page.get_by_label("Your name")).to_be_visible()
    page.get_by_label("Full name").fill(CHILD["name"])
    page.get_by_label("Date of birth").fill(CHILD["born"])
    page.get_by_label("Your name").fill(PARENT["name"])
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Mobile phone").fill(PARENT["phone"])
    answer_screening(page, yes=("needle_phobia",))
    check("details-someone-else")
    child_reference = booked_reference(page)
    check("child-booked")

    # For herself, from the same email, at another time: a second person in one household.
    book_assessment(page, check, live_server, "2:00 p.m., Wednesday, March 3, 2027")
    who(page, "Me")
    page.get_by_label("Full name").fill(PARENT["name"])
    page.get_by_label("Date of birth").fill(PARENT["born"])
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Mobile phone").fill(PARENT["phone"])
    answer_screening(page, yes=("pregnant",))
    check("details-me")
    parent_reference = booked_reference(page)
    assert child_reference != parent_reference

    # The child's answers are on the child's record only, and hers on hers.
    assert screenings_by_person(app) == {
        CHILD["name"]: {"pregnant": False, "needle_phobia": True},
        PARENT["name"]: {"pregnant": True, "needle_phobia": False},
    }
    with app.app_context():
        people = db.session.execute(
            select(Patient.name, Patient.date_of_birth, Patient.contact_id).order_by(Patient.id)
        ).all()
        assert [(n, b.isoformat()) for n, b, _ in people] == [
            (CHILD["name"], CHILD["born"]),
            (PARENT["name"], PARENT["born"]),
        ]
        [contact] = db.session.scalars(select(Contact)).all()
        assert {c for _, _, c in people} == {contact.id}
        assert (contact.email, contact.name) == (EMAIL, PARENT["name"])


def emailed_path(app: Flask, clock) -> str:
    """Render the access link's email from the outbox, as the worker would; return its path."""
    with app.app_context():
        message = db.session.scalars(
            select(OutboxMessage).where(OutboxMessage.event == Event.ACCESS_LINK.value)
        ).one()
        outgoing = access_email(message, now=clock())
    text = message_from_bytes(outgoing.data, policy=policy.default)
    body = text.get_body(("plain",)).get_content()
    return re.search(r"https?://[^/\s]+(/my/[A-Za-z0-9_-]+)", body).group(1)


@sqlite_only
def test_been_here_before_leads_to_my_visits_and_a_follow_up(
    app, live_server, new_context, checker, clock
):
    page = new_context(**PHONE).new_page()
    check: Checker = checker(page)
    book_assessment(page, check, live_server, "10:00 a.m., Wednesday, March 3, 2027")
    who(page, "Someone else")
    page.get_by_label("Full name").fill(CHILD["name"])
    page.get_by_label("Date of birth").fill(CHILD["born"])
    page.get_by_label("Your name").fill(PARENT["name"])
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Mobile phone").fill(PARENT["phone"])
    answer_screening(page)
    booked_reference(page)

    # Another device: she comes back through the start page.
    page = new_context(**PHONE).new_page()
    check = checker(page)
    page.goto(live_server + "/")
    page.get_by_role("link", name="Open My visits").click()
    expect(page.get_by_role("heading", level=1, name="Been here before?")).to_be_visible()
    check("been-here-before")
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_role("button", name="Email me a link").click()
    expect(page.get_by_role("heading", level=1, name="Check your email")).to_be_visible()
    check("link-sent")

    page.goto(live_server + emailed_path(app, clock))
    check("open-link")
    page.get_by_role("button", name="Open my visits").click()
    expect(page.get_by_role("heading", level=1, name="My visits")).to_be_visible()
    tom = page.get_by_role("region", name=CHILD["name"])
    expect(tom).to_contain_text("IMS initial assessment, Wednesday, March 3, 2027, 10:00 a.m.")
    expect(tom.get_by_role("link", name=re.compile(r"^Change or cancel"))).to_be_visible()
    check("my-visits")
    tom.get_by_role("button", name=f"Book a follow-up for {CHILD['name']}").click()

    expect(page.get_by_role("status")).to_contain_text(f"You are booking for {CHILD['name']}")
    page.get_by_role("link", name=re.compile(r"^I've been before: IMS follow-up")).click()
    page.get_by_role("link", name=re.compile(r"^Maya Chen")).click()
    # Thursday is one day after his assessment: the needling spacing leaves it out for him.
    assert page.get_by_role("link", name="10:00 a.m., Thursday, March 4, 2027").count() == 0
    slot(page, "10:00 a.m., Friday, March 5, 2027").click()
    expect(
        page.get_by_role("heading", level=1, name=f"Booking for {CHILD['name']}")
    ).to_be_visible()
    expect(page.get_by_label("Email")).to_have_count(0)  # nothing to type again
    page.get_by_label("Anything the therapist should know? (optional)").fill("Much better.")
    check("follow-up-details")
    reference = booked_reference(page)
    with app.app_context():
        visit = db.session.scalar(select(Appointment).where(Appointment.reference == reference))
        assert db.session.get(Patient, visit.patient_id).name == CHILD["name"]
        assert visit.notes == "Much better."
        assert len(db.session.scalars(select(Patient)).all()) == 1
