"""The patient record page: corrections, the email (household) move, proposed changes."""

from __future__ import annotations

import re
from datetime import date, timedelta
from html import unescape

import pytest
from sqlalchemy import select
from staffing import csrf_of, sign_in
from support import MONDAY, NOW, details, local, person

from booking.extensions import db
from booking.models import AuditEvent, Patient, PatientChange
from booking.services import booking
from booking.services.booking import BookingRequest

TUESDAY = MONDAY + timedelta(days=1)


def book_person(app, start, therapist, n=1, **given):
    with app.app_context():
        booked = booking.book(
            BookingRequest("physio", start, details(n, **given), therapist_id=therapist), now=NOW
        )
        return booked.appointment.patient_id


@pytest.fixture
def desk(client, staff):
    sign_in(client, staff.reception)
    return client


def post(client, path, **fields):
    page = client.get(path.rsplit("/", 1)[0] if path.endswith(("/details", "/email")) else path)
    token = csrf_of(page.text)
    prefix = "person" if path.endswith("/details") else "move" if path.endswith("/email") else ""
    data = {f"{prefix}-{k}" if prefix else k: v for k, v in fields.items()}
    data[f"{prefix}-csrf_token" if prefix else "csrf_token"] = token
    return client.post(path, data=data)


def record(app, pid):
    with app.app_context():
        p = db.session.get(Patient, pid)
        return (p.name, p.preferred_name, p.date_of_birth, p.phone, p.email)


FIELDS = {"name": "Pat Ient1", "preferred_name": "", "date_of_birth": "1980-05-17",
          "phone": "604-555-0199"}  # fmt: skip


def test_reception_corrects_the_details(app, desk, world):
    pid = book_person(app, local(TUESDAY, 9), world.maya)
    page = desk.get(f"/staff/patients/{pid}").text
    assert "May 17, 1980" in page and 'value="Pat Ient1"' in page
    saved = post(desk, f"/staff/patients/{pid}/details",
                 **FIELDS | {"preferred_name": "Patty", "phone": "604 555 0100"})  # fmt: skip
    assert saved.status_code == 302
    assert record(app, pid)[1:4] == ("Patty", date(1980, 5, 17), "+16045550100")
    shown = desk.get(f"/staff/patients/{pid}").text
    assert "Saved." in shown and "Details changed" in shown
    refused = post(
        desk, f"/staff/patients/{pid}/details", **FIELDS | {"date_of_birth": "2030-01-01"}
    )
    assert refused.status_code == 422 and "cannot be in the future" in refused.text
    assert 'class="error-summary"' in refused.text
    assert record(app, pid)[2] == date(1980, 5, 17)


def test_a_twin_in_the_household_is_refused_with_a_link_to_merge(app, desk, world):
    parent = book_person(app, local(TUESDAY, 9), world.maya)
    child = book_person(app, local(TUESDAY, 13), world.maya, name="Tom Ient",
                        date_of_birth=date(2014, 9, 3))  # fmt: skip
    refused = post(desk, f"/staff/patients/{child}/details", **FIELDS)
    assert refused.status_code == 422
    assert "merge the two records" in refused.text
    assert f"/staff/patients/{child}/merge?other={parent}" in unescape(refused.text)
    assert record(app, child)[0] == "Tom Ient"


def test_changing_the_email_moves_the_person_to_another_household(app, desk, world):
    parent = book_person(app, local(TUESDAY, 9), world.maya)
    child = book_person(app, local(TUESDAY, 13), world.maya, name="Tom Ient",
                        date_of_birth=date(2014, 9, 3))  # fmt: skip
    assert "Tom Ient" in desk.get(f"/staff/patients/{parent}").text  # household
    moved = post(desk, f"/staff/patients/{child}/email", email="tom@example.com")
    assert moved.status_code == 302
    assert record(app, child)[4] == "tom@example.com"
    assert "Tom Ient" not in desk.get(f"/staff/patients/{parent}").text
    bad = post(desk, f"/staff/patients/{child}/email", email="nope")
    assert bad.status_code == 422 and "name@example.com" in bad.text


def test_a_household_of_twenty_on_the_record(app, desk, world):
    parent = person("Ada Many", "many@example.com", born=date(1970, 1, 1))
    kids = [Patient(name=f"Child {n:02}", date_of_birth=date(2005, 1, 1 + n),
                    contact=parent.contact) for n in range(19)]  # fmt: skip
    world.add(parent, *kids)
    page = desk.get(f"/staff/patients/{parent.id}").text
    household = page.split('id="household-title"')[1].split("</section>")[0]
    assert household.count("<li>") == 19 and "(19)" in household
    assert "Child 00" in household and "Child 18" in household


def test_proposed_changes_are_listed_counted_and_decided_once(app, desk, world):
    pid = book_person(app, local(TUESDAY, 9), world.maya)
    book_person(app, local(TUESDAY, 13), world.maya, phone="604-555-0111")  # typed online
    listed = desk.get("/staff/patients").text
    assert "Proposed changes to review (1)" in listed and "Pat Ient1" in listed
    page = desk.get(f"/staff/patients/{pid}").text
    assert "Proposed changes (1)" in page and "(604) 555-0111" in page
    with app.app_context():
        change_id = db.session.scalar(select(PatientChange.id))
    url = f"/staff/patients/{pid}/changes/{change_id}/accept"
    assert url in page
    accepted = desk.post(url, data={"csrf_token": csrf_of(page)})
    assert accepted.status_code == 302 and record(app, pid)[3] == "+16045550111"
    # The same page's other button, sent after: stale, and nothing changes.
    again = desk.post(url.replace("accept", "reject"), data={"csrf_token": csrf_of(page)})
    assert again.status_code == 302
    shown = desk.get(f"/staff/patients/{pid}").text
    assert "already accepted" in shown and record(app, pid)[3] == "+16045550111"
    with app.app_context():
        actions = db.session.scalars(select(AuditEvent.action)).all()
    assert actions.count("change_accepted") == 1 and "change_rejected" not in actions
    assert "Proposed changes to review (0)" in desk.get("/staff/patients").text
    assert desk.post(url.replace("accept", "maybe"), data={"csrf_token": csrf_of(page)}
                     ).status_code == 404  # fmt: skip
    assert desk.post(url, data={}).status_code == 400  # no CSRF token


def test_possible_duplicates_are_listed(app, desk, world):
    first = book_person(app, local(TUESDAY, 9), world.maya)
    second = book_person(app, local(TUESDAY, 13), world.maya, email="pat.work@example.com")
    page = unescape(desk.get(f"/staff/patients/{first}").text)
    assert "Possible duplicates" in page and f"/staff/patients/{first}/merge?other={second}" in page
    lone = book_person(app, local(TUESDAY, 15), world.maya, n=3)
    assert "Possible duplicates" not in desk.get(f"/staff/patients/{lone}").text


def test_search_from_the_patients_page(app, desk, world):
    book_person(app, local(TUESDAY, 9), world.maya)
    token = csrf_of(desk.get("/staff/patients").text)
    for query in ("1980-05-17", "May 17, 1980", "PATIENT1@example.com", "604-555-0199", "ient1"):
        found = desk.post("/staff/patients", data={"csrf_token": token, "q": query}).text
        assert re.search(r"Pat Ient1</a> · born May 17, 1980 · patient1@example.com", found), query


@pytest.mark.parametrize("action", ["details", "email", "merge?other=1"])
def test_every_record_form_needs_its_csrf_token(app, desk, world, action):
    pid = book_person(app, local(TUESDAY, 9), world.maya)
    fields = {"person-name": "Someone Else", "move-email": "x@example.com", "keep": "this"}
    refused = desk.post(f"/staff/patients/{pid}/{action}", data=fields)
    assert refused.status_code in (400, 422)
    assert record(app, pid)[0] == "Pat Ient1" and record(app, pid)[4] == "patient1@example.com"
