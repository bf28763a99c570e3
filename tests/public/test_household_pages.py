"""Who a visit is for: oneself or someone else, a date of birth, and one household's people."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from pages import book, book_for, csrf, open_my_visits, screening, slot_param, token_of
from sqlalchemy import func, select
from support import BORN, MONDAY, local

from booking.extensions import db
from booking.models import (
    Appointment,
    Contact,
    OutboxMessage,
    Patient,
    PatientChange,
    Screening,
    email_key,
)

TUESDAY = MONDAY + timedelta(days=1)
NINE = local(TUESDAY, 9)
CHILD_BORN = date(2012, 9, 3)
PARENT = "ann.gill@example.com"
CHILD = {"who": "someone", "name": "Tom Gill", "date_of_birth": CHILD_BORN.isoformat()}
CHILD |= {"booker": "Ann Gill", "email": PARENT}
HERSELF = {"who": "me", "name": "Ann Gill", "email": PARENT, "booker": ""}


@pytest.fixture
def clinic(world):
    world.maya = world.make_therapist("Maya Chen")
    world.ravi = world.make_therapist("Ravi Patel")
    return world


def people(app) -> list[tuple[str, date | None, int]]:
    with app.app_context():
        rows = db.session.execute(
            select(Patient.name, Patient.date_of_birth, Patient.contact_id).order_by(Patient.id)
        ).all()
        return [tuple(row) for row in rows]


def test_the_page_asks_who_the_visit_is_for(client, clinic):
    page = client.get(f"/book/physio/details?therapist=any&start={slot_param(NINE)}").text
    legend = page.index("<legend>Who is this visit for?</legend>")
    assert page.rindex("<fieldset", 0, legend) < legend < page.index('name="name"')
    assert re.search(r'<input[^>]*checked[^>]*value="me"|<input[^>]*value="me"[^>]*checked', page)
    assert 'value="someone"' in page and "Someone else" in page
    assert re.search(r'<label for="date_of_birth">Date of birth</label>', page)
    assert re.search(r'<input[^>]*type="date"[^>]*', page)
    assert 'min="1900-01-01"' in page and 'max="2027-03-01"' in page  # today, in Vancouver
    assert '<div data-reveal="someone">' in page and '<label for="booker">Your name</label>' in page


def test_a_parent_books_for_a_child_and_the_messages_go_to_her(app, client, clinic):
    token_of(book(client, "physio", NINE, **CHILD))
    [(name, born, contact_id)] = people(app)
    assert (name, born) == ("Tom Gill", CHILD_BORN)
    with app.app_context():
        contact = db.session.get(Contact, contact_id)
        assert (contact.email, contact.name) == (PARENT, "Ann Gill")
        to = db.session.execute(
            select(OutboxMessage.to_name, OutboxMessage.to_address).where(
                OutboxMessage.recipient == "patient"
            )
        ).all()
    assert {tuple(row) for row in to} == {("Ann Gill", PARENT)}


def test_a_parent_books_for_her_child_and_herself_at_one_hour(app, client, clinic):
    token_of(book(client, "assessment", NINE, answers=screening(pregnant=False), **CHILD))
    token_of(book(client, "assessment", NINE, answers=screening(pregnant=True), **HERSELF))
    (child, child_born, family), (parent, parent_born, same) = people(app)
    assert (child, child_born, parent, parent_born) == ("Tom Gill", CHILD_BORN, "Ann Gill", BORN)
    assert family == same
    with app.app_context():
        rows = db.session.execute(
            select(Patient.name, Screening.pregnant)
            .join(Appointment, Appointment.patient_id == Patient.id)
            .join(Screening, Screening.appointment_id == Appointment.id)
        ).all()
    assert sorted(tuple(r) for r in rows) == [("Ann Gill", True), ("Tom Gill", False)]


def test_someone_else_needs_the_bookers_name(app, client, clinic):
    response = book(client, "physio", NINE, **(CHILD | {"booker": ""}))
    page = response.text
    assert response.status_code == 200
    assert 'id="booker-error"' in page and "Enter your own name." in page
    assert 'value="Tom Gill"' in page and f'value="{CHILD_BORN.isoformat()}"' in page
    assert re.search(r'<input[^>]*checked[^>]*value="someone"|value="someone"[^>]*checked', page)
    assert people(app) == []


def test_for_oneself_a_stray_bookers_name_is_ignored(app, client, clinic):
    token_of(book(client, "physio", NINE, booker="Somebody Else"))
    with app.app_context():
        assert db.session.scalar(select(Contact.name)) == ""
        assert db.session.scalar(select(OutboxMessage.to_name)) == "Pat Ient1"


@pytest.mark.parametrize(
    ("who", "typed", "message"),
    [
        ("me", "", "Enter your date of birth."),
        ("someone", "", "Enter their date of birth."),
        ("me", "1980-02-30", "Enter the date of birth as year-month-day, like 1980-05-17."),
        ("me", "17/05/1980", "Enter the date of birth as year-month-day, like 1980-05-17."),
        ("me", "2027-03-02", "The date of birth cannot be in the future."),
        ("me", "1899-12-31", "Please check the year: a date of birth is after 1900."),
    ],
)
def test_a_bad_date_of_birth_is_refused_at_its_field(app, client, clinic, who, typed, message):
    fields = {"who": who, "date_of_birth": typed, "booker": "Ann Gill"}
    page = book(client, "physio", NINE, **fields).text
    assert message in page
    assert re.search(
        r'<input[^>]*aria-describedby="date_of_birth-hint date_of_birth-error"'
        r'[^>]*aria-invalid="true"',
        page,
    )
    assert 'href="#date_of_birth"' in page  # the error summary links to the field
    assert people(app) == []


def test_today_is_a_date_of_birth(app, client, clinic):
    token_of(book(client, "physio", NINE, date_of_birth="2027-03-01"))  # a newborn


def test_my_visits_lists_the_household_by_person(app, client, clinic):
    token_of(book(client, "assessment", NINE, **CHILD))
    token_of(book(client, "physio", NINE + timedelta(days=1), **HERSELF))
    with app.app_context():
        tom = db.session.scalar(select(Patient).where(Patient.name == "Tom Gill"))
        tom.preferred_name = "Tommy"
        db.session.commit()
    page = open_my_visits(client, app, PARENT)
    tommy, ann = page.index('<h2 id="person-'), page.rindex('<h2 id="person-')
    assert 'Tommy <span class="muted">(Tom Gill)</span>' in page[tommy:ann]
    assert "IMS initial assessment</strong>, Tuesday, March 2" in page[tommy:ann]
    assert "Physiotherapy assessment</strong>, Wednesday, March 3" in page[ann:]
    assert "Book a follow-up for Tommy" in page and "Book a follow-up for Ann Gill" in page
    assert page.count("Change or cancel") == 2


def test_a_follow_up_for_the_child_needs_no_retyping(app, client, clinic):
    token_of(book(client, "assessment", NINE, **CHILD))
    page = open_my_visits(client, app, PARENT)
    assert book_for(client, page, "Tom Gill").headers["Location"] == "/book"
    picker = client.get("/book").text
    assert "You are booking for <strong>Tom Gill</strong>" in picker
    assert 'href="/book/follow-up"' in picker
    later = local(TUESDAY + timedelta(days=7), 9)
    form = client.get(f"/book/follow-up/details?therapist=any&start={slot_param(later)}").text
    assert "<h1>Booking for Tom Gill</h1>" in form and "born September 3, 2012" in form
    assert 'name="email"' not in form and 'name="date_of_birth"' not in form
    data = {"csrf_token": csrf(form), "therapist": "any", "start": slot_param(later)}
    token_of(client.post("/book/follow-up/details", data=data | {"note": "Knee better"}))
    with app.app_context():
        visit = db.session.scalars(select(Appointment).order_by(Appointment.id.desc())).first()
        assert db.session.get(Patient, visit.patient_id).name == "Tom Gill"
        assert visit.notes == "Knee better" and visit.source == "online"
        assert db.session.scalar(select(func.count()).select_from(PatientChange)) == 0
    assert len(people(app)) == 1


def test_the_fixed_person_can_be_let_go(app, client, clinic):
    token_of(book(client, "assessment", NINE, **CHILD))
    book_for(client, open_my_visits(client, app, PARENT), "Tom Gill")
    picker = client.get("/book").text
    assert client.post("/my/book-for/anyone", data={"csrf_token": csrf(picker)}).status_code == 303
    assert "You are booking for" not in client.get("/book").text
    form = client.get(f"/book/physio/details?therapist=any&start={slot_param(NINE)}").text
    assert "Who is this visit for?" in form


def test_a_person_of_another_household_cannot_be_fixed(app, client, clinic):
    token_of(book(client, "assessment", NINE, **CHILD))
    token_of(book(client, "physio", NINE, n=2))
    with app.app_context():
        stranger = db.session.scalar(select(Patient.id).where(Patient.name == "Pat Ient2"))
    page = open_my_visits(client, app, PARENT)
    for person in (str(stranger), "0", "x", "9" * 30):
        response = client.post("/my/book-for", data={"csrf_token": csrf(page), "person": person})
        assert response.status_code == 400
    assert "You are booking for" not in client.get("/book").text


def test_the_fixed_person_ends_with_the_verification(app, client, clock, clinic):
    token_of(book(client, "assessment", NINE, **CHILD))
    book_for(client, open_my_visits(client, app, PARENT), "Tom Gill")
    clock.advance(minutes=30)
    later = local(TUESDAY + timedelta(days=7), 9)
    form = client.get(f"/book/follow-up/details?therapist=any&start={slot_param(later)}").text
    assert "Booking for Tom Gill" not in form and "Who is this visit for?" in form


def test_a_fixed_person_booking_an_assessment_answers_the_screening(app, client, clinic):
    token_of(book(client, "physio", NINE, **CHILD))
    book_for(client, open_my_visits(client, app, PARENT), "Tom Gill")
    later = local(TUESDAY + timedelta(days=2), 9)
    url = f"/book/assessment/details?therapist=any&start={slot_param(later)}"
    form = client.get(url).text
    assert "Safety questions before needling" in form and 'name="name"' not in form
    data = {"csrf_token": csrf(form), "therapist": "any", "start": slot_param(later)}
    refused = client.post("/book/assessment/details", data=data)
    assert refused.status_code == 200 and "Please confirm your consent" in refused.text
    token_of(client.post(url, data=data | screening(implant=True) | {"consent": "y"}))
    with app.app_context():
        row = db.session.execute(
            select(Patient.name, Screening.implant)
            .join(Appointment, Appointment.patient_id == Patient.id)
            .join(Screening, Screening.appointment_id == Appointment.id)
        ).one()
    assert tuple(row) == ("Tom Gill", True)


def test_a_household_of_twenty_people_is_listed_whole(app, client, world):
    world.make_therapist()
    family = Contact(email=PARENT, email_key=email_key(PARENT), name="Ann Gill")
    world.add(
        *(
            Patient(name=f"Child {n}", name_key=f"child {n}", date_of_birth=CHILD_BORN,
                    contact=family)
            for n in range(20)
        )
    )  # fmt: skip
    page = open_my_visits(client, app, PARENT)
    assert page.count("Book a follow-up for Child ") == 20
    assert len(page.encode()) < 100 * 1024
