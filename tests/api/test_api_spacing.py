"""The needling spacing through the API, on SQLite and PostgreSQL: a verified person's
follow-up too close to their assessment is 409 `too_soon` with times that keep it."""

from __future__ import annotations

from datetime import date, timedelta

from api_support import TUESDAY, count, post_booking, verify
from sqlalchemy import select
from support import MONDAY, VANCOUVER, local

from booking.extensions import db
from booking.models import Appointment, Patient

WEDNESDAY = MONDAY + timedelta(days=2)
THURSDAY = MONDAY + timedelta(days=3)


def verified_person(app, client):
    assert post_booking(client, start=local(TUESDAY, 9)).status_code == 201
    token = verify(app, client)["access_token"]
    with app.app_context():
        person = db.session.scalar(select(Patient.id))
    return person, token


def test_a_follow_up_the_next_day_is_409_too_soon_with_spaced_alternatives(app, client, clinic):
    person, token = verified_person(app, client)
    response = post_booking(
        client, start=local(WEDNESDAY, 9), service="follow-up", person_id=person, token=token
    )
    assert response.status_code == 409
    error = response.get_json()["error"]
    assert error["code"] == "too_soon"
    assert "at least 2 days apart" in error["message"]
    assert "Tuesday, March 2" in error["message"]
    assert "patient_id" not in error
    days = {date.fromisoformat(a["start"][:10]) for a in error["alternatives"]}
    assert days and min(days) == THURSDAY
    assert days.isdisjoint({MONDAY, TUESDAY, WEDNESDAY})
    assert count(app) == 1
    allowed = post_booking(
        client, start=local(THURSDAY, 9), service="follow-up", person_id=person, token=token
    )
    assert allowed.status_code == 201


def test_rescheduling_one_day_closer_is_409_too_soon(app, client, clinic):
    person, token = verified_person(app, client)
    booked = post_booking(
        client, start=local(THURSDAY, 9), service="follow-up", person_id=person, token=token
    ).get_json()
    response = client.post(
        f"/api/v1/bookings/{booked['manage_token']}/reschedule",
        json={"start": local(WEDNESDAY, 9).isoformat()},
    )
    assert response.status_code == 409
    error = response.get_json()["error"]
    assert error["code"] == "too_soon"
    starts = [a["start"] for a in error["alternatives"]]
    assert starts and all(s >= local(THURSDAY, 0).isoformat() for s in starts)
    with app.app_context():
        visit = db.session.get(Appointment, booked["id"])
        assert visit.start_at.astimezone(VANCOUVER) == local(THURSDAY, 9)
