"""The JSON API end to end, on SQLite and PostgreSQL: catalog, availability and booking rules."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from api_support import TUESDAY, bearer, count, post_booking, verify
from sqlalchemy import select, text
from support import API_SCREENING, MONDAY, local, patient

from booking.extensions import db
from booking.models import Appointment, AuditEvent, Contact, OutboxMessage, Patient, PatientChange


def test_services_list_their_prerequisite(client, clinic):
    services = client.get("/api/v1/services").get_json()["services"]
    by_slug = {s["slug"]: s for s in services}
    assert set(by_slug) == {"assessment", "follow-up", "physio"}
    assert by_slug["follow-up"]["requires"] == "assessment"
    assert by_slug["assessment"]["requires_ims"] is True
    assert by_slug["assessment"]["duration_minutes"] == 60


@pytest.mark.parametrize(
    ("service", "names"),
    [("assessment", ["Maya Chen"]), ("physio", ["Maya Chen", "Tom Berg"]), (None, None)],
)
def test_therapists_are_filtered_by_what_they_may_do(client, clinic, service, names):
    url = "/api/v1/therapists" + (f"?service={service}" if service else "")
    got = [t["name"] for t in client.get(url).get_json()["therapists"]]
    assert got == (names or ["Maya Chen", "Tom Berg"])


def test_therapists_for_an_unknown_service_is_422(client, clinic):
    response = client.get("/api/v1/therapists?service=nope")
    assert response.status_code == 422
    assert response.get_json()["error"]["fields"] == {"service": "There is no such service."}


def test_availability_is_in_the_clinic_zone_and_sorted(client, clinic):
    response = client.get(f"/api/v1/availability?service=follow-up&from={TUESDAY}&to={TUESDAY}")
    body = response.get_json()
    assert response.status_code == 200
    assert body["timezone"] == "America/Vancouver"
    assert list(body) == ["timezone", "slots"]
    assert list(body["slots"][0]) == ["start", "end", "therapist_id", "inside_cutoff"]
    starts = [s["start"] for s in body["slots"]]
    assert starts[0] == "2027-03-02T09:00:00-08:00"
    assert starts[-1] == "2027-03-02T16:30:00-08:00"
    assert "2027-03-02T11:30:00-08:00" in starts  # 11:30-12:00, buffer runs into lunch
    assert "2027-03-02T11:45:00-08:00" not in starts  # would end after 12:00
    assert starts == sorted(starts)
    assert {s["therapist_id"] for s in body["slots"]} == {clinic.ims}


def test_availability_respects_minimum_notice(client, clinic):
    # Now is Monday 08:00; 12 hours of notice leaves nothing on Monday.
    body = client.get(f"/api/v1/availability?service=physio&from={MONDAY}&to={MONDAY}").get_json()
    assert body["slots"] == []


def test_availability_across_the_spring_forward_change(client, clinic):
    sunday = MONDAY + timedelta(days=13)  # 14 March 2027, clocks go forward
    body = client.get(
        f"/api/v1/availability?service=physio&from={sunday}&to={sunday + timedelta(days=1)}"
        f"&therapist={clinic.ims}"
    ).get_json()
    starts = [s["start"] for s in body["slots"]]
    assert starts[0] == "2027-03-14T09:00:00-07:00"
    assert "2027-03-13T09:00:00-08:00" not in starts
    assert starts[-1] == "2027-03-15T16:15:00-07:00"


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("from=2027-03-02&to=2027-03-02", "service"),
        ("service=physio&from=2027-13-01", "from"),
        ("service=physio&from=tomorrow", "from"),
        ("service=physio&from=2027-03-10&to=2027-03-02", "to"),
        ("service=physio&from=2027-03-01&to=2027-04-01", "to"),
        ("service=physio&therapist=abc", "therapist"),
        ("service=physio&therapist=-4", "therapist"),
        ("service=physio&therapist=99999999999999", "therapist"),
        ("service=nope", "service"),
        ("service=assessment&therapist=424242", "therapist_id"),
    ],
)
def test_availability_refuses_bad_parameters(client, clinic, query, field):
    response = client.get(f"/api/v1/availability?{query}")
    assert response.status_code == 422
    assert field in response.get_json()["error"]["fields"]


def test_availability_for_a_therapist_who_does_not_offer_it(client, clinic):
    response = client.get(f"/api/v1/availability?service=assessment&therapist={clinic.physio_only}")
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "therapist_not_offering"


def test_booking_returns_the_booking_and_records_it(app, client, clinic):
    response = post_booking(client, start=local(TUESDAY, 9), therapist_id=clinic.ims)
    assert response.status_code == 201
    body = response.get_json()
    assert re.fullmatch(r"[3-9A-Y]{4}-[3-9A-Y]{4}", body["reference"])
    assert body["status"] == "booked"
    assert body["start"] == "2027-03-02T09:00:00-08:00"
    assert body["end"] == "2027-03-02T10:00:00-08:00"
    assert body["service"] == "assessment"
    assert body["therapist_id"] == clinic.ims
    assert len(body["manage_token"]) == 43
    with app.app_context():
        appointment = db.session.get(Appointment, body["id"])
        assert appointment.occupied_until == local(TUESDAY, 10, 10)
        assert appointment.sequence == 0
        assert appointment.manage_token_hash != body["manage_token"]
        assert appointment.calendar_uid.endswith("@clinic.example")
        created, booked = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id))
        assert (created.entity, created.action, created.after) == ("patient", "created", None)
        assert (booked.action, booked.actor, booked.before) == ("booked", "patient", None)
        assert "email" not in str(booked.after)
        # Absent states are SQL NULL (not JSON null), as the ORM's own audit rows have them.
        absent = db.session.execute(
            text("SELECT count(*) FROM audit_event WHERE before IS NULL")
        ).scalar()
        assert absent == 2


def test_the_same_email_name_and_birth_date_is_the_same_person(app, client, clinic):
    first = post_booking(client, start=local(TUESDAY, 9), therapist_id=clinic.ims)
    body = {
        "service": "assessment",
        "start": local(TUESDAY, 14).isoformat(),
        "therapist_id": clinic.ims,
        # Case and spacing of the name and email aside, this is Pat Ient1 again.
        "patient": patient(
            1, name=" pat  IENT1 ", email="PATIENT1@example.com ", phone="604-555-0123"
        ),
        "screening": API_SCREENING,
    }
    again = client.post("/api/v1/bookings", json=body)

    assert first.status_code == again.status_code == 201
    with app.app_context():
        assert count(app, Patient) == count(app, Contact) == 1
        ids = db.session.scalars(select(Appointment.patient_id)).all()
        assert len(set(ids)) == 1
        actions = db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
        assert actions == ["created", "booked", "booked"]  # the patient was created once
        names = db.session.scalars(
            select(OutboxMessage.to_name).where(OutboxMessage.appointment_id == again.json["id"])
        ).all()
        assert "pat  IENT1" not in names and "Pat Ient1" in names  # the name on record
        # What differs is proposed to reception, not written over the record.
        record = db.session.scalar(select(Patient))
        assert record.phone == "+16045550199"
        proposed = {(c.field, c.value) for c in db.session.scalars(select(PatientChange))}
        assert proposed == {("phone", "+16045550123"), ("name", "pat  IENT1")}


def test_another_name_or_birth_date_on_one_email_is_another_person_of_that_household(
    app, client, clinic
):
    first = post_booking(client, start=local(TUESDAY, 9), therapist_id=clinic.ims)
    child = post_booking(
        client,
        start=local(TUESDAY, 9),  # the same hour: two people, so no clash
        service="physio",
        name="Tom Ient1",
        date_of_birth="2015-06-01",
        booker="Pat Ient1",
    )
    twin = post_booking(
        client, start=local(TUESDAY, 14), service="physio", date_of_birth="1980-05-18"
    )

    assert first.status_code == child.status_code == twin.status_code == 201
    with app.app_context():
        assert count(app, Contact) == 1
        people = db.session.scalars(select(Patient).order_by(Patient.id)).all()
        assert [(p.name, p.date_of_birth.isoformat()) for p in people] == [
            ("Pat Ient1", "1980-05-17"),
            ("Tom Ient1", "2015-06-01"),
            ("Pat Ient1", "1980-05-18"),
        ]
        visits = {a.id: a.patient_id for a in db.session.scalars(select(Appointment))}
        assert len(set(visits.values())) == 3
        # Messages go to the one contact, greeting its reader; they name the person.
        message = db.session.scalar(
            select(OutboxMessage).where(OutboxMessage.appointment_id == child.json["id"])
        )
        assert (message.to_address, message.to_name) == ("patient1@example.com", "Pat Ient1")


def test_first_available_picks_a_free_therapist(client, clinic):
    second = clinic.make_therapist("Daniel Okafor")
    first = post_booking(client, start=local(TUESDAY, 9), n=1).get_json()
    other = post_booking(client, start=local(TUESDAY, 9), n=2).get_json()
    assert {first["therapist_id"], other["therapist_id"]} == {clinic.ims, second}
    third = post_booking(client, start=local(TUESDAY, 9), n=3)
    assert third.status_code == 409


def test_a_taken_slot_is_409_with_nearby_alternatives(app, client, clinic):
    assert (
        post_booking(client, start=local(TUESDAY, 10), therapist_id=clinic.ims).status_code == 201
    )
    response = post_booking(
        client, start=local(TUESDAY, 10, 30), service="physio", therapist_id=clinic.ims, n=2
    )
    assert response.status_code == 409
    error = response.get_json()["error"]
    assert error["code"] == "slot_unavailable"
    alternatives = [a["start"] for a in error["alternatives"]]
    assert 0 < len(alternatives) <= 5
    assert alternatives == sorted(alternatives)
    assert "2027-03-02T11:15:00-08:00" in alternatives  # right after 10:00-11:00 + buffer
    assert count(app) == 1


def test_buffer_blocks_the_next_start(client, clinic):
    post_booking(client, start=local(TUESDAY, 9), therapist_id=clinic.ims)
    clash = post_booking(
        client, start=local(TUESDAY, 10), service="physio", therapist_id=clinic.ims, n=2
    )
    assert clash.status_code == 409  # 09:00-10:00 plus 10 minutes of buffer
    fine = post_booking(
        client, start=local(TUESDAY, 10, 15), service="physio", therapist_id=clinic.ims, n=2
    )
    assert fine.status_code == 201


def test_a_patient_cannot_be_in_two_places(client, clinic):
    other = clinic.make_therapist("Daniel Okafor")
    post_booking(client, start=local(TUESDAY, 9), therapist_id=clinic.ims, service="physio")
    response = post_booking(
        client, start=local(TUESDAY, 9, 30), therapist_id=other, service="physio"
    )
    assert response.status_code == 409
    error = response.get_json()["error"]
    assert error["code"] == "slot_unavailable"
    # The same words as any taken slot: a refusal must not reveal someone's schedule.
    assert error["message"] == "That time is no longer available."


@pytest.mark.parametrize(
    ("start", "reason"),
    [
        (local(MONDAY, 15), "inside the minimum notice"),
        (local(MONDAY - timedelta(days=7), 10), "in the past"),
        (local(MONDAY + timedelta(days=91), 10), "beyond the booking horizon"),
        (local(TUESDAY, 8), "before working hours"),
        (local(TUESDAY, 12, 15), "over lunch"),
        (local(TUESDAY, 9, 7), "off the 15-minute grid"),
    ],
)
def test_times_that_are_not_offered_are_refused(app, client, clinic, start, reason):
    response = post_booking(client, start=start, therapist_id=clinic.ims, service="physio")
    assert response.status_code == 409, reason
    assert count(app) == 0


def test_an_uncertified_therapist_cannot_be_booked_for_ims(client, clinic):
    response = post_booking(client, start=local(TUESDAY, 9), therapist_id=clinic.physio_only)
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "therapist_not_offering"


def test_a_lapsed_certification_stops_ims_from_its_expiry(client, clinic):
    lapsing = clinic.make_therapist("Priya Sandhu", expires=TUESDAY)
    assert post_booking(client, start=local(TUESDAY, 9), therapist_id=lapsing).status_code == 201
    after = post_booking(
        client, start=local(TUESDAY + timedelta(days=1), 9), therapist_id=lapsing, n=2
    )
    assert after.status_code == 422
    assert (
        "can no longer be booked for IMS initial assessment" in after.get_json()["error"]["message"]
    )
    physio = post_booking(
        client,
        start=local(TUESDAY + timedelta(days=1), 9),
        therapist_id=lapsing,
        service="physio",
        n=3,
    )
    assert physio.status_code == 201


def test_a_follow_up_needs_an_earlier_assessment(app, client, clinic):
    # A person on record without an assessment (a physiotherapy visit only).
    assert post_booking(client, start=local(TUESDAY, 15), service="physio").status_code == 201
    token = verify(app, client)["access_token"]
    (person,) = client.get("/api/v1/household", headers=bearer(token)).get_json()["people"]

    response = post_booking(
        client, start=local(TUESDAY, 9), service="follow-up", person_id=person["id"], token=token
    )
    assert response.status_code == 409
    error = response.get_json()["error"]
    assert error["code"] == "assessment_required"
    assert error["required_service"] == "assessment"
    assert "Please book the IMS initial assessment first." in error["message"]
    assert count(app) == 1  # nothing half-written

    assert post_booking(client, start=local(TUESDAY, 13)).status_code == 201
    before = post_booking(
        client, start=local(TUESDAY, 9), service="follow-up", person_id=person["id"], token=token
    )
    assert before.status_code == 409  # the assessment must come first
    later = post_booking(
        client,
        start=local(TUESDAY + timedelta(days=7), 9),
        service="follow-up",
        person_id=person["id"],
        token=token,
    )
    assert later.status_code == 201
    with app.app_context():
        assert db.session.get(Appointment, later.json["id"]).patient_id == person["id"]


def test_a_cancelled_assessment_does_not_count(app, client, clinic):
    manage = post_booking(client, start=local(TUESDAY, 13)).get_json()["manage_token"]
    client.post(f"/api/v1/bookings/{manage}/cancel", json={})
    verified = verify(app, client)
    response = post_booking(
        client,
        start=local(TUESDAY + timedelta(days=7), 9),
        service="follow-up",
        person_id=verified["people"][0]["id"],
        token=verified["access_token"],
    )
    assert response.get_json()["error"]["code"] == "assessment_required"


@pytest.mark.parametrize("spelt", ["  PATIENT1@Example.COM ", "patient1@example.com"])
def test_a_follow_up_without_a_verified_person_is_403_for_every_email(app, client, clinic, spelt):
    # One answer, whether or not the email has an assessment on record: it tells nothing.
    post_booking(client, start=local(TUESDAY, 13))
    answers = []
    for email in (spelt, "nobody@example.com"):
        response = post_booking(
            client, start=local(TUESDAY + timedelta(days=7), 9), service="follow-up", email=email
        )
        answers.append((response.status_code, response.get_json()))
    assert answers[0] == answers[1]
    status, body = answers[0]
    assert status == 403
    assert body["error"]["code"] == "verification_required"
    assert count(app) == 1
