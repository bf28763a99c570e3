"""Who a booking is for: people in households, matched without ever overwriting them."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select
from support import ANSWERS, BORN, MONDAY, NOW, details, local

from booking.extensions import db
from booking.models import (
    AuditEvent,
    Contact,
    OutboxMessage,
    Patient,
    PatientChange,
    Screening,
    Source,
)
from booking.services import booking
from booking.services.booking import BookingRequest
from booking.services.errors import InvalidRequest, SlotUnavailable, VerificationRequired

TUESDAY = MONDAY + timedelta(days=1)
CHILD_BORN = date(2014, 9, 3)


@pytest.fixture
def maya(world):
    return world.make_therapist("Maya Chen")


def book(app, start, who, *, service="physio", **extra):
    """Book through the service, as the site or the API would; answer the Booked value."""
    screening = dict(ANSWERS) if service == "assessment" else None
    request = BookingRequest(service, start, who, screening=screening, **extra)
    with app.app_context():
        return booking.book(request, now=NOW)


def people(app):
    with app.app_context():
        rows = db.session.execute(
            select(Patient.id, Patient.name, Patient.date_of_birth, Patient.phone, Contact.email)
            .join(Contact)
            .order_by(Patient.id)
        ).all()
        return [tuple(row) for row in rows]


def messages(app):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(OutboxMessage))


VERIFY = (
    "A return visit is booked online for a patient on record, once they have opened the "
    'one-time link we email them ("Been here before?"), or by phoning the clinic.'
)


def changes(app):
    with app.app_context():
        rows = db.session.scalars(select(PatientChange).order_by(PatientChange.id)).all()
        return [(c.patient_id, c.field, c.value, c.status) for c in rows]


def test_the_same_email_name_and_birth_date_is_the_same_person(app, maya):
    first = book(app, local(TUESDAY, 9), details(1))
    again = book(app, local(TUESDAY, 13), details(1, name="  pat   IENT1 "))
    assert first.appointment.patient_id == again.appointment.patient_id
    assert len(people(app)) == 1
    # The record keeps its spelling; the new one is a proposal for reception, not an edit.
    assert people(app)[0][1] == "Pat Ient1"
    assert changes(app) == [(first.appointment.patient_id, "name", "pat   IENT1", "pending")]


def test_a_child_booked_from_a_parents_email_is_a_person_of_her_household(app, maya):
    mother = book(app, local(TUESDAY, 9), details(1, name="Ann Gill"))
    child = book(
        app,
        local(TUESDAY, 13),
        details(1, name="Tom Gill", date_of_birth=CHILD_BORN, phone="604-555-0144", booker="Ann"),
    )
    assert mother.appointment.patient_id != child.appointment.patient_id
    (_, ann, _, ann_phone, email), (_, tom, born, tom_phone, same) = people(app)
    assert (ann, tom, born, email, same) == ("Ann Gill", "Tom Gill", CHILD_BORN, email, email)
    assert (ann_phone, tom_phone) == ("+16045550199", "+16045550144")  # nothing overwritten
    assert changes(app) == []
    with app.app_context():
        [contact] = db.session.scalars(select(Contact)).all()
        # Tom's messages go to the household's address and greet whoever booked for him.
        to = db.session.execute(
            select(OutboxMessage.to_name, OutboxMessage.to_address).where(
                OutboxMessage.appointment_id == child.appointment.id,
                OutboxMessage.recipient == "patient",
                OutboxMessage.event == "booked",
            )
        ).one()
    # Ann booked her own visit first, under her own name; booking for Tom she says who reads.
    assert contact.name == "Ann"
    assert tuple(to) == ("Ann", contact.email)


def test_two_people_of_one_household_may_be_seen_at_the_same_hour(app, world, maya):
    other = world.make_therapist("Daniel Okafor")
    start = local(TUESDAY, 9)
    book(app, start, details(1, name="Ann Gill"), therapist_id=maya)
    book(app, start, details(1, name="Tom Gill", date_of_birth=CHILD_BORN), therapist_id=other)
    with pytest.raises(SlotUnavailable):  # but one person is never in two places at once
        book(app, start + timedelta(minutes=15), details(1, name="Tom Gill",
             date_of_birth=CHILD_BORN), therapist_id=other)  # fmt: skip


@pytest.mark.parametrize(
    ("typed", "same"),
    [
        ("PATIENT1@EXAMPLE.COM", True),
        ("  patient1@example.com ", True),
        ("patient.1@example.com", False),  # dots matter outside Gmail
        ("patient1+pain@example.com", False),  # a plus tag may be another person's inbox
    ],
)
def test_an_email_that_changes_case_is_the_same_contact(app, maya, typed, same):
    book(app, local(TUESDAY, 9), details(1))
    book(app, local(TUESDAY, 13), details(1, email=typed))
    assert (len(people(app)) == 1) is same


def test_gmail_ignores_dots_so_the_contact_does_too(app, maya):
    book(app, local(TUESDAY, 9), details(1, email="ann.gill@gmail.com"))
    book(app, local(TUESDAY, 13), details(1, email="AnnGill@googlemail.com"))
    assert len(people(app)) == 1
    assert people(app)[0][4] == "ann.gill@gmail.com"  # written to as first given


def test_a_changed_phone_is_proposed_once_and_never_applied(app, maya):
    first = book(app, local(TUESDAY, 9), details(1))
    for hour in (11, 13):
        book(app, local(TUESDAY, hour), details(1, phone="778-555-0123"))
    assert people(app)[0][3] == "+16045550199"
    assert changes(app) == [(first.appointment.patient_id, "phone", "+17785550123", "pending")]


def test_a_different_birth_date_is_another_person_reception_can_merge(app, maya):
    book(app, local(TUESDAY, 9), details(1))
    book(app, local(TUESDAY, 13), details(1, date_of_birth=BORN + timedelta(days=1)))
    assert [row[2] for row in people(app)] == [BORN, BORN + timedelta(days=1)]


def test_a_person_recorded_before_birth_dates_is_matched_and_the_date_proposed(app, world, maya):
    from support import person

    world.add(person("Pat Ient1", "patient1@example.com", born=None))
    booked = book(app, local(TUESDAY, 9), details(1))
    assert len(people(app)) == 1 and people(app)[0][2] is None
    pid = booked.appointment.patient_id
    assert changes(app) == [(pid, "phone", "+16045550199", "pending"),
                            (pid, "date_of_birth", BORN.isoformat(), "pending")]  # fmt: skip


@pytest.mark.parametrize(
    ("born", "message"),
    [
        (None, "Enter the date of birth."),
        (date(2027, 3, 2), "The date of birth cannot be in the future."),
        (date(1899, 12, 31), "Please check the year: a date of birth is after 1900."),
    ],
)
def test_an_impossible_birth_date_is_refused_and_nothing_written(app, maya, born, message):
    with pytest.raises(InvalidRequest) as refused:
        book(app, local(TUESDAY, 9), details(1, date_of_birth=born))
    assert refused.value.fields == {"patient.date_of_birth": message}
    assert people(app) == []


def test_a_birth_date_of_today_and_of_1900_are_people(app, maya):
    book(app, local(TUESDAY, 9), details(1, date_of_birth=NOW.date()))
    book(app, local(TUESDAY, 13), details(2, date_of_birth=date(1900, 1, 1)))
    assert len(people(app)) == 2


def test_a_household_of_twenty_people(app, world, maya):
    for n in range(20):
        day = TUESDAY + timedelta(days=n // 6)
        hour = (9, 10, 11, 13, 14, 15)[n % 6]
        book(app, local(day, hour), details(1, name=f"Kid {n}", date_of_birth=CHILD_BORN))
    assert len(people(app)) == 20 and len({row[4] for row in people(app)}) == 1


@pytest.mark.parametrize("known", [True, False])
def test_an_unverified_follow_up_online_is_refused_the_same_whoever_it_names(app, maya, known):
    if known:
        book(app, local(TUESDAY, 9), details(1), service="assessment")
    before = people(app), messages(app)
    with pytest.raises(VerificationRequired) as refused:
        book(app, local(TUESDAY + timedelta(days=7), 9), details(1), service="follow-up")
    assert refused.value.message == VERIFY  # word for word, known or not
    assert (people(app), messages(app)) == before


def test_a_verified_person_books_a_follow_up_without_retyping(app, maya):
    assessment = book(app, local(TUESDAY, 9), details(1), service="assessment")
    person_id = assessment.appointment.patient_id
    with app.app_context():
        contact_id = db.session.get_one(Patient, person_id).contact_id
    follow_up = book(
        app, local(TUESDAY + timedelta(days=7), 9), None, service="follow-up",
        person_id=person_id, contact_id=contact_id,
    )  # fmt: skip
    assert follow_up.appointment.patient_id == person_id
    assert changes(app) == []


def test_a_person_of_another_household_answers_like_no_person_at_all(app, maya):
    mine = book(app, local(TUESDAY, 9), details(1))
    theirs = book(app, local(TUESDAY, 13), details(2))
    with app.app_context():
        my_contact = db.session.get_one(Patient, mine.appointment.patient_id).contact_id
    answers = []
    for person_id in (theirs.appointment.patient_id, 999_999):
        with pytest.raises(InvalidRequest) as refused:
            book(app, local(TUESDAY, 15), None, person_id=person_id, contact_id=my_contact)
        answers.append(refused.value.fields)
    assert answers[0] == answers[1] == {"person_id": "There is no such person in this household."}


def test_online_a_person_id_without_a_verified_household_is_refused(app, maya):
    booked = book(app, local(TUESDAY, 9), details(1))
    with pytest.raises(VerificationRequired):
        book(app, local(TUESDAY, 13), None, person_id=booked.appointment.patient_id)


def test_reception_books_a_person_on_record_by_id(app, maya):
    booked = book(app, local(TUESDAY, 9), details(1))
    again = book(
        app, local(TUESDAY, 13), None, person_id=booked.appointment.patient_id,
        source=Source.STAFF,
    )  # fmt: skip
    assert again.appointment.patient_id == booked.appointment.patient_id


def test_the_screening_lands_on_the_person_it_is_for(app, maya):
    mother = book(app, local(TUESDAY, 9), details(1, name="Ann Gill"), service="assessment")
    child_answers = dict(ANSWERS, needle_phobia=True)
    child = book(
        app, local(TUESDAY, 13), details(1, name="Tom Gill", date_of_birth=CHILD_BORN),
        service="physio",
    )  # fmt: skip
    child_assessment = BookingRequest(
        "assessment", local(TUESDAY, 15), details(1, name="Tom Gill", date_of_birth=CHILD_BORN),
        screening=child_answers,
    )  # fmt: skip
    with app.app_context():
        tom = booking.book(child_assessment, now=NOW)
        by_person = dict(
            db.session.execute(select(Screening.appointment_id, Screening.needle_phobia)).all()
        )
    assert tom.appointment.patient_id == child.appointment.patient_id
    assert by_person == {mother.appointment.id: False, tom.appointment.id: True}


def test_a_new_person_is_audited_on_their_own_record(app, maya):
    book(app, local(TUESDAY, 9), details(1, name="Ann Gill"))
    book(app, local(TUESDAY, 13), details(1, name="Tom Gill", date_of_birth=CHILD_BORN))
    with app.app_context():
        created = db.session.scalars(
            select(AuditEvent.entity_id).where(
                AuditEvent.entity == "patient", AuditEvent.action == "created"
            )
        ).all()
    assert sorted(created) == [row[0] for row in people(app)]


def test_a_retried_request_is_told_from_another_by_its_person(app, maya):
    first = BookingRequest("physio", local(TUESDAY, 9), details(1))
    assert (
        first.fingerprint()
        == replace(first, patient=details(1, email="PATIENT1@example.com")).fingerprint()
    )
    assert (
        first.fingerprint()
        != replace(first, patient=details(1, date_of_birth=CHILD_BORN)).fingerprint()
    )
