"""Reception corrects a person's record: details, and the contact (email) they belong to."""

from __future__ import annotations

from datetime import date

import pytest
from records_support import ACTOR, TUESDAY, book, person_of, trail
from sqlalchemy import func, select
from support import BORN, NOW, details, local

from booking.extensions import db
from booking.models import Contact, OutboxMessage, Patient
from booking.services import person_edits
from booking.services.errors import InvalidRequest, NotFound
from booking.services.person_edits import SamePerson


@pytest.fixture
def maya(world):
    return world.make_therapist("Maya Chen")


def edit(app, patient_id, **given):
    with app.app_context():
        person = db.session.get(Patient, patient_id)
        values = given
        if person is not None:
            values = {
                "name": person.name,
                "preferred_name": person.preferred_name,
                "date_of_birth": person.date_of_birth,
                "phone": person.phone,
            } | given
        return person_edits.edit_details(patient_id, actor=ACTOR, now=NOW, **values)


def row(app, patient_id):
    with app.app_context():
        p = db.session.get(Patient, patient_id)
        return None if p is None else (p.name, p.preferred_name, p.date_of_birth, p.phone, p.email)


def test_details_are_corrected_and_audited_with_before_and_after(app, maya):
    pid = person_of(app, 1)
    changed = edit(app, pid, name="Patricia Ient", preferred_name="Pat", phone="604 555 0100",
                   date_of_birth=date(1981, 5, 17))  # fmt: skip
    assert changed == ["name", "preferred_name", "date_of_birth", "phone"]
    assert row(app, pid) == ("Patricia Ient", "Pat", date(1981, 5, 17), "+16045550100",
                             "patient1@example.com")  # fmt: skip
    action, entity_id, before, after = trail(app)[-1]
    assert (action, entity_id) == ("details_changed", pid)
    assert before == {"name": "Pat Ient1", "preferred_name": "", "date_of_birth": "1980-05-17",
                      "phone": "+16045550199"}  # fmt: skip
    assert after == {"name": "Patricia Ient", "preferred_name": "Pat",
                     "date_of_birth": "1981-05-17", "phone": "+16045550100"}  # fmt: skip
    assert edit(app, pid) == []  # nothing changed: no audit row
    assert trail(app)[-1][0] == "details_changed" and len(trail(app)) == 2  # created, changed


@pytest.mark.parametrize(
    ("given", "field"),
    [({"name": "  "}, "name"), ({"name": "A <b>"}, "name"), ({"phone": "12"}, "phone"),
     ({"date_of_birth": date(1899, 12, 31)}, "date_of_birth"),
     ({"date_of_birth": date(2027, 3, 2)}, "date_of_birth"),  # tomorrow
     ({"date_of_birth": None}, "date_of_birth"), ({"preferred_name": "x" * 121}, "preferred_name")],
)  # fmt: skip
def test_bad_details_are_refused_and_change_nothing(app, maya, given, field):
    pid = person_of(app, 1)
    before = row(app, pid)
    with pytest.raises(InvalidRequest) as refused:
        edit(app, pid, **given)
    assert list(refused.value.fields) == [field]
    assert row(app, pid) == before and len(trail(app)) == 1


def test_a_change_that_makes_two_people_of_a_household_one_is_refused_pointing_at_merge(app, maya):
    parent = person_of(app, 1)
    child = person_of(app, 1, name="Tom Ient", date_of_birth=date(2014, 9, 3))
    with pytest.raises(SamePerson) as refused:
        edit(app, child, name="pat ient1", date_of_birth=BORN)
    assert refused.value.other_id == parent and "merge" in refused.value.message
    assert row(app, child)[0] == "Tom Ient"
    # The same name with another date of birth is another person: allowed.
    assert edit(app, child, name="Pat Ient1") == ["name"]


def test_unknown_person(app, maya):
    with pytest.raises(NotFound):
        edit(app, 999, name="x", preferred_name="", date_of_birth=None, phone="")


def test_moving_a_person_to_a_new_contact(app, maya):
    parent = person_of(app, 1)
    child = person_of(app, 1, name="Tom Ient", date_of_birth=date(2014, 9, 3))
    with app.app_context():
        contact = person_edits.move_to_email(child, "Tom.Ient@Example.com", actor=ACTOR, now=NOW)
    assert row(app, child)[4] == "tom.ient@example.com"
    assert row(app, parent)[4] == "patient1@example.com"  # the household keeps the others
    action, entity_id, before, after = trail(app)[-1]
    assert (action, entity_id) == ("contact_changed", child)
    assert before["email"] == "patient1@example.com" and after["email"] == "tom.ient@example.com"
    assert after["contact_id"] == contact and after["old_contact_removed"] is False


def test_moving_into_an_existing_household_and_the_emptied_contact_goes(app, maya):
    first = person_of(app, 1)
    second = person_of(app, 2)
    visit = book(app, local(TUESDAY, 15), details(2, name="Pat Ient2"))
    with app.app_context():
        old_contact = db.session.get(Patient, second).contact_id
        # Gmail's dots and case aside, this is person 1's contact.
        moved_to = person_edits.move_to_email(second, "PATIENT1@example.com", actor=ACTOR,
                                              now=NOW)  # fmt: skip
        assert moved_to == db.session.get(Patient, first).contact_id
        assert db.session.get(Contact, old_contact) is None  # nobody left in it
        # Unsent messages about the person's visits go to the new address.
        pending = db.session.scalars(
            select(OutboxMessage.to_address).where(
                OutboxMessage.appointment_id == visit.appointment.id,
                OutboxMessage.recipient == "patient",
            )
        ).all()
    assert pending and set(pending) == {"patient1@example.com"}
    assert trail(app)[-1][3]["old_contact_removed"] is True


def test_moving_next_to_a_twin_is_refused(app, maya):
    first = person_of(app, 1)
    twin = person_of(app, 1, email="other@example.com")  # the same person, another email
    with app.app_context(), pytest.raises(SamePerson) as refused:
        person_edits.move_to_email(twin, "patient1@example.com", actor=ACTOR, now=NOW)
    assert refused.value.other_id == first
    assert row(app, twin)[4] == "other@example.com"


@pytest.mark.parametrize("email", ["not-an-email", "patient1@EXAMPLE.com"])
def test_a_bad_or_the_same_email_is_refused(app, maya, email):
    pid = person_of(app, 1)
    with app.app_context(), pytest.raises(InvalidRequest):
        person_edits.move_to_email(pid, email, actor=ACTOR, now=NOW)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Contact)) == 1
