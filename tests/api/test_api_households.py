"""Who a visit is for, through the API, on SQLite and PostgreSQL: dates of birth, the people
of a household, follow-ups for a verified person (`person_id` with a bearer token)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from api_support import TUESDAY, bearer, count, post_booking, verify
from sqlalchemy import select
from support import BORN, MONDAY, local, patient

from booking.extensions import db
from booking.models import Appointment, Contact, Patient
from booking.services.booking.people import NOT_IN_HOUSEHOLD

NEXT_WEEK = TUESDAY + timedelta(days=7)
HOURS = (9, 10, 11, 13, 14, 15, 16)  # a 45-minute visit fits at each, lunch aside


@pytest.mark.parametrize(
    ("born", "message"),
    [
        ("17/05/1980", "Must be a date written YYYY-MM-DD, such as 1980-05-17."),
        ("1980-5-17", "Must be a date written YYYY-MM-DD, such as 1980-05-17."),
        ("1980-02-30", "Must be a date written YYYY-MM-DD, such as 1980-05-17."),
        ("yesterday", "Must be a date written YYYY-MM-DD, such as 1980-05-17."),
        (19800517, "Must be a string."),
        ("", "This field is required."),
        (None, "This field is required."),
        ("2027-03-02", "The date of birth cannot be in the future."),  # tomorrow
        ("2999-01-01", "The date of birth cannot be in the future."),
        ("1899-12-31", "Please check the year: a date of birth is after 1900."),
        ("0001-01-01", "Please check the year: a date of birth is after 1900."),
    ],
)
def test_a_date_of_birth_that_cannot_be_one_is_422_naming_the_field(
    app, client, clinic, born, message
):
    body = {
        "service": "physio",
        "start": local(TUESDAY, 9).isoformat(),
        "patient": {**patient(), "date_of_birth": born},
    }
    response = client.post("/api/v1/bookings", json=body)
    assert response.status_code == 422
    assert response.get_json()["error"]["fields"] == {"patient.date_of_birth": message}
    assert count(app) == count(app, Patient) == 0


def test_a_missing_date_of_birth_is_named_with_the_other_fields(client, clinic):
    body = {"service": "physio", "start": "soon", "patient": {"name": "Ann Lee"}}
    fields = client.post("/api/v1/bookings", json=body).get_json()["error"]["fields"]
    assert set(fields) == {"start", "patient.email", "patient.phone", "patient.date_of_birth"}


@pytest.mark.parametrize("born", ["1900-01-01", "2027-03-01"])  # the first year; today
def test_the_edges_of_the_dates_of_birth_are_taken(app, client, clinic, born):
    response = post_booking(client, start=local(TUESDAY, 9), service="physio", date_of_birth=born)
    assert response.status_code == 201
    with app.app_context():
        assert db.session.scalar(select(Patient.date_of_birth)) == date.fromisoformat(born)


def test_a_booker_names_who_reads_the_messages(app, client, clinic):
    response = post_booking(
        client, start=local(TUESDAY, 9), service="physio", name="Tom Gill", booker="Ann Gill"
    )
    assert response.status_code == 201
    with app.app_context():
        assert db.session.scalar(select(Contact.name)) == "Ann Gill"
        assert db.session.scalar(select(Patient.name)) == "Tom Gill"
    bad = post_booking(client, start=local(TUESDAY, 13), service="physio", booker="Ann <x>")
    assert bad.status_code == 422
    assert set(bad.get_json()["error"]["fields"]) == {"patient.booker"}


def test_a_verified_household_books_a_follow_up_for_each_of_its_people(app, client, clinic):
    parent = post_booking(client, start=local(TUESDAY, 9))
    child = post_booking(
        client, start=local(TUESDAY, 9, 0), name="Tom Ient1", date_of_birth="2015-06-01"
    )
    assert child.status_code == 409  # one therapist: the hour is taken, for anyone
    child = post_booking(
        client, start=local(TUESDAY, 13), name="Tom Ient1", date_of_birth="2015-06-01"
    )
    assert parent.status_code == child.status_code == 201
    verified = verify(app, client)
    token = verified["access_token"]
    ids = {p["name"]: p["id"] for p in verified["people"]}

    for hour, name in ((9, "Tom Ient1"), (11, "Pat Ient1")):
        response = post_booking(
            client,
            start=local(NEXT_WEEK, hour),
            service="follow-up",
            person_id=ids[name],
            token=token,
        )
        assert response.status_code == 201, response.get_json()
        with app.app_context():
            appointment = db.session.get(Appointment, response.get_json()["id"])
            assert appointment.patient_id == ids[name]
    assert count(app, Patient) == 2


def test_a_person_of_another_household_is_422_as_one_that_does_not_exist(app, client, clinic):
    post_booking(client, start=local(TUESDAY, 9), n=1)
    post_booking(client, start=local(TUESDAY, 13), n=2)
    token = verify(app, client, "patient1@example.com")["access_token"]
    with app.app_context():
        stranger = db.session.scalar(select(Patient.id).where(Patient.name == "Pat Ient2"))

    answers = []
    for person_id in (stranger, 4242):
        response = post_booking(
            client, start=local(NEXT_WEEK, 9), service="follow-up", person_id=person_id, token=token
        )
        answers.append((response.status_code, response.get_data()))
    assert answers[0] == answers[1]
    assert answers[0][0] == 422
    error = client.post(
        "/api/v1/bookings",
        json={"service": "physio", "start": local(NEXT_WEEK, 9).isoformat(), "person_id": stranger},
        headers=bearer(token),
    ).get_json()["error"]
    assert error["fields"] == {"person_id": NOT_IN_HOUSEHOLD}
    assert count(app) == 2


def test_a_person_id_without_a_token_is_verification_required(app, client, clinic):
    post_booking(client, start=local(TUESDAY, 9))
    with app.app_context():
        person_id = db.session.scalar(select(Patient.id))
    for service in ("follow-up", "physio"):
        response = post_booking(
            client, start=local(NEXT_WEEK, 9), service=service, person_id=person_id
        )
        assert response.status_code == 403
        assert response.get_json()["error"]["code"] == "verification_required"
    assert count(app) == 1


@pytest.mark.parametrize(
    ("whom", "field"),
    [
        ({"person_id": 1, "patient": patient()}, "person_id"),
        ({"person_id": None}, "person_id"),
        ({"person_id": "x"}, "person_id"),
        ({"person_id": 0}, "person_id"),
        ({"patient": None}, "patient"),
    ],
)
def test_a_visit_is_for_a_patient_or_a_person_of_the_household(app, client, clinic, whom, field):
    post_booking(client, start=local(TUESDAY, 9))
    token = verify(app, client)["access_token"]
    body = {"service": "physio", "start": local(NEXT_WEEK, 9).isoformat(), **whom}
    response = client.post("/api/v1/bookings", json=body, headers=bearer(token))
    assert response.status_code == 422
    assert field in response.get_json()["error"]["fields"]
    assert count(app) == 1


def test_one_person_cannot_be_booked_twice_at_one_time(app, client, clinic):
    other = clinic.make_therapist("Daniel Okafor")
    post_booking(client, start=local(TUESDAY, 9), therapist_id=clinic.ims)
    verified = verify(app, client)
    person_id = verified["people"][0]["id"]

    first = post_booking(
        client,
        start=local(NEXT_WEEK, 9),
        service="follow-up",
        therapist_id=clinic.ims,
        person_id=person_id,
        token=verified["access_token"],
    )
    # The same person again at that hour, with the other therapist: by id, then as typed.
    again = post_booking(
        client,
        start=local(NEXT_WEEK, 9),
        service="physio",
        therapist_id=other,
        person_id=person_id,
        token=verified["access_token"],
    )
    typed = post_booking(
        client, start=local(NEXT_WEEK, 9, 15), service="physio", therapist_id=other
    )
    assert first.status_code == 201
    assert again.status_code == typed.status_code == 409
    assert again.get_json()["error"]["code"] == "slot_unavailable"
    assert again.get_json()["error"]["message"] == "That time is no longer available."
    # Another person of the household is not this one: the same hour is theirs to book.
    sibling = post_booking(
        client,
        start=local(NEXT_WEEK, 9),
        service="physio",
        therapist_id=other,
        name="Tom Ient1",
        date_of_birth="2015-06-01",
    )
    assert sibling.status_code == 201
    assert count(app) == 3


def test_an_idempotency_key_replays_a_follow_up_and_covers_the_person(app, client, clinic):
    post_booking(client, start=local(TUESDAY, 9))
    post_booking(client, start=local(TUESDAY, 13), name="Tom Ient1", date_of_birth="2015-06-01")
    verified = verify(app, client)
    token = verified["access_token"]
    parent, child = (p["id"] for p in verified["people"])
    key = {"Idempotency-Key": "follow-up-1"}

    def follow_up(person_id):
        return post_booking(
            client,
            start=local(NEXT_WEEK, 9),
            service="follow-up",
            person_id=person_id,
            token=token,
            headers=key,
        )

    first, again = follow_up(child), follow_up(child)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.get_json() == first.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"
    other = follow_up(parent)
    assert other.status_code == 422
    assert other.get_json()["error"]["code"] == "idempotency_key_reused"
    assert count(app) == 3


def test_a_household_of_20_people(app, client, clinic):
    app.config["BOOKING_RATE_LIMIT"] = "1000 per minute"
    kids = [(f"Kid Number{n}", (BORN + timedelta(days=365 * n)).isoformat()) for n in range(20)]
    for n, (name, born) in enumerate(kids):
        response = post_booking(
            client,
            start=local(TUESDAY + timedelta(days=n // 7), HOURS[n % 7]),
            service="physio",
            name=name,
            date_of_birth=born,
            booker="Ann Number",
        )
        assert response.status_code == 201, response.get_json()
    verified = verify(app, client)
    assert [(p["name"], p["date_of_birth"]) for p in verified["people"]] == kids
    token = verified["access_token"]

    for n, person in enumerate(verified["people"]):  # and each again, by id
        response = post_booking(
            client,
            start=local(MONDAY + timedelta(days=14 + n // 7), HOURS[n % 7]),
            service="physio",
            person_id=person["id"],
            token=token,
        )
        assert response.status_code == 201, response.get_json()

    listed = client.get("/api/v1/household", headers=bearer(token)).get_json()
    assert listed["people"] == verified["people"]
    assert len(listed["upcoming"]) == 40
    per_person = {p["id"]: 0 for p in listed["people"]}
    for visit in listed["upcoming"]:
        per_person[visit["person_id"]] += 1
    assert set(per_person.values()) == {2}
    assert count(app, Contact) == 1 and count(app, Patient) == 20
