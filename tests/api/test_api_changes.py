"""The JSON API end to end, on SQLite and PostgreSQL: bad input, the envelope, idempotency,
manage tokens, reschedule and cancel, rate limits."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from api_support import TUESDAY, count, post_booking
from pages import book
from sqlalchemy import select
from support import BORN, MONDAY, local, patient

from booking.extensions import db
from booking.models import Appointment, AuditEvent

BAD_BODIES = [
    (
        {},
        {
            "service",
            "start",
            "patient.name",
            "patient.email",
            "patient.phone",
            "patient.date_of_birth",
        },
    ),
    ({"service": 5, "start": 5, "patient": []}, {"service", "start", "patient"}),
    ({"service": "physio", "start": "2027-03-02T09:00:00", "patient": patient()}, {"start"}),
    ({"service": "physio", "start": "next tuesday", "patient": patient()}, {"start"}),
    ({"service": "physio", "start": "0001-01-01T00:00:00+14:00", "patient": patient()}, {"start"}),
    (
        {
            "service": "physio",
            "start": "2027-03-02T09:00:00-08:00",
            "therapist_id": True,
            "patient": patient(),
        },
        {"therapist_id"},
    ),
    (
        {
            "service": "physio",
            "start": "2027-03-02T09:00:00-08:00",
            "patient": patient() | {"email": "not-an-email"},
        },
        {"patient.email"},
    ),
    (
        {
            "service": "physio",
            "start": "2027-03-02T09:00:00-08:00",
            "patient": patient() | {"phone": "call me"},
        },
        {"patient.phone"},
    ),
    (
        {
            "service": "physio",
            "start": "2027-03-02T09:00:00-08:00",
            "patient": patient() | {"name": "x" * 121},
        },
        {"patient.name"},
    ),
    (
        {
            "service": "physio",
            "start": "2027-03-02T09:00:00-08:00",
            "patient": patient(),
            "notes": "n" * 2001,
        },
        {"notes"},
    ),
    ({"service": "nope", "start": "2027-03-02T09:00:00-08:00", "patient": patient()}, {"service"}),
    (
        {
            "service": "physio",
            "start": "2027-03-02T09:00:00-08:00",
            "therapist_id": 999,
            "patient": patient(),
        },
        {"therapist_id"},
    ),
]


@pytest.mark.parametrize(("body", "fields"), BAD_BODIES)
def test_bad_input_is_422_with_every_field_named(app, client, clinic, body, fields):
    response = client.post("/api/v1/bookings", json=body)
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "invalid_request"
    assert set(error["fields"]) == fields
    assert count(app) == 0


@pytest.mark.parametrize(
    ("data", "content_type"),
    [("[1, 2]", "application/json"), ("{not json", "application/json"), ("a=b", "text/plain")],
)
def test_a_body_that_is_not_a_json_object_is_422(client, clinic, data, content_type):
    response = client.post("/api/v1/bookings", data=data, content_type=content_type)
    assert response.status_code == 422
    assert response.get_json()["error"]["fields"] == {"body": ANY_MESSAGE}


class _Any:
    def __eq__(self, other: object) -> bool:
        return isinstance(other, str) and len(other) > 0


ANY_MESSAGE = _Any()


def test_a_huge_body_is_413_in_the_envelope(client, clinic):
    response = client.post(
        "/api/v1/bookings", data="x" * (65 * 1024), content_type="application/json"
    )
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "request_entity_too_large"


def test_unknown_routes_and_methods_answer_in_the_envelope(client, clinic):
    missing = client.get("/api/v1/nothing")
    assert missing.status_code == 404
    assert missing.get_json()["error"]["code"] == "not_found"
    wrong = client.delete("/api/v1/bookings")
    assert wrong.status_code == 405
    assert wrong.get_json()["error"]["code"] == "method_not_allowed"
    assert "POST" in wrong.headers["Allow"]


def test_pages_say_what_their_exception_says_about_itself(client):
    wrong = client.get("/staff/logout")  # a page, not the API: POST only

    assert wrong.status_code == 405
    assert "POST" in wrong.headers["Allow"]
    assert wrong.mimetype == "text/html"


def test_idempotency_key_returns_the_first_result(app, client, clinic):
    headers = {"Idempotency-Key": "retry-1234"}
    first = post_booking(client, start=local(TUESDAY, 9), headers=headers)
    again = post_booking(client, start=local(TUESDAY, 9), headers=headers)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.get_json() == first.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert count(app) == 1
    different = post_booking(client, start=local(TUESDAY, 13), headers=headers)
    assert different.status_code == 422
    assert different.get_json()["error"]["code"] == "idempotency_key_reused"
    assert count(app) == 1


def test_a_malformed_idempotency_key_is_refused(client, clinic):
    response = post_booking(client, start=local(TUESDAY, 9), headers={"Idempotency-Key": "x" * 300})
    assert response.status_code == 422


def test_manage_token_shows_reschedules_and_cancels(app, client, clinic):
    token = post_booking(client, start=local(TUESDAY, 9)).get_json()["manage_token"]
    shown = client.get(f"/api/v1/bookings/{token}").get_json()
    assert shown["start"] == "2027-03-02T09:00:00-08:00"
    assert shown["can_change_online"] is True
    assert "manage_token" not in shown

    moved = client.post(
        f"/api/v1/bookings/{token}/reschedule", json={"start": local(TUESDAY, 14).isoformat()}
    )
    assert moved.status_code == 200
    assert moved.get_json()["start"] == "2027-03-02T14:00:00-08:00"
    # The old time is free again, for someone else.
    assert post_booking(client, start=local(TUESDAY, 9), n=2).status_code == 201

    cancelled = client.post(f"/api/v1/bookings/{token}/cancel", json={"reason": "feeling better"})
    assert cancelled.get_json()["status"] == "cancelled"
    again = client.post(f"/api/v1/bookings/{token}/cancel")
    assert again.status_code == 409
    assert again.get_json()["error"]["code"] == "not_changeable"
    with app.app_context():
        appointment = db.session.scalar(
            select(Appointment).where(Appointment.status == "cancelled")
        )
        assert appointment.sequence == 2
        assert appointment.cancel_reason == "feeling better"
        actions = db.session.scalars(
            select(AuditEvent.action)
            .where(AuditEvent.entity == "appointment", AuditEvent.entity_id == appointment.id)
            .order_by(AuditEvent.id)
        ).all()
        assert actions == ["booked", "rescheduled", "cancelled"]
    assert post_booking(client, start=local(TUESDAY, 14), n=3).status_code == 201


def test_reschedule_to_a_taken_time_changes_nothing(app, client, clinic):
    post_booking(client, start=local(TUESDAY, 14), n=2)
    token = post_booking(client, start=local(TUESDAY, 9)).get_json()["manage_token"]
    response = client.post(
        f"/api/v1/bookings/{token}/reschedule", json={"start": local(TUESDAY, 14, 30).isoformat()}
    )
    assert response.status_code == 409
    assert response.get_json()["error"]["alternatives"]
    assert (
        client.get(f"/api/v1/bookings/{token}").get_json()["start"].startswith("2027-03-02T09:00")
    )


def test_reschedule_by_a_little_overlapping_itself(client, clinic):
    token = post_booking(client, start=local(TUESDAY, 9)).get_json()["manage_token"]
    response = client.post(
        f"/api/v1/bookings/{token}/reschedule", json={"start": local(TUESDAY, 9, 30).isoformat()}
    )
    assert response.status_code == 200


def test_reschedule_to_another_therapist(client, clinic):
    other = clinic.make_therapist("Daniel Okafor")
    token = post_booking(client, start=local(TUESDAY, 9), therapist_id=clinic.ims).get_json()[
        "manage_token"
    ]
    response = client.post(
        f"/api/v1/bookings/{token}/reschedule",
        json={"start": local(TUESDAY, 9).isoformat(), "therapist_id": other},
    )
    assert response.get_json()["therapist_id"] == other
    refused = client.post(
        f"/api/v1/bookings/{token}/reschedule",
        json={"start": local(TUESDAY, 9).isoformat(), "therapist_id": clinic.physio_only},
    )
    assert refused.status_code == 422


def test_changes_inside_the_cutoff_are_by_phone(client, clock, clinic):
    token = post_booking(client, start=local(TUESDAY, 9)).get_json()["manage_token"]
    clock.advance(hours=10)  # Monday 18:00: 15 hours before the visit
    shown = client.get(f"/api/v1/bookings/{token}").get_json()
    assert shown["can_change_online"] is False
    for action, body in (("cancel", {}), ("reschedule", {"start": local(TUESDAY, 14).isoformat()})):
        response = client.post(f"/api/v1/bookings/{token}/{action}", json=body)
        assert response.status_code == 403
        error = response.get_json()["error"]
        assert error["code"] == "inside_cutoff"
        assert "604-555-0100" in error["message"]


@pytest.mark.parametrize("token", ["nope", "A" * 43, "A" * 500, "%00"])
def test_a_wrong_token_is_404(client, clinic, token):
    for response in (
        client.get(f"/api/v1/bookings/{token}"),
        client.post(f"/api/v1/bookings/{token}/cancel"),
        client.post(f"/api/v1/bookings/{token}/reschedule", json={"start": "2027-03-02T09:00:00Z"}),
    ):
        assert response.status_code == 404
        assert response.get_json()["error"]["code"] == "not_found"


def test_openapi_describes_every_route(app, client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    rules = {
        re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", r.rule.removeprefix("/api/v1"))
        for r in app.url_map.iter_rules()
        if r.rule.startswith("/api/v1")
    }
    assert rules == set(paths)


@pytest.mark.parametrize("therapist", ["²", "\u0661", "12a", "1.5"])
def test_non_ascii_digits_are_not_ids(client, clinic, therapist):
    response = client.get(
        "/api/v1/availability", query_string={"service": "physio", "therapist": therapist}
    )
    assert response.status_code == 422


def test_therapists_with_a_lapsed_certification_are_not_listed_for_ims(client, clinic):
    clinic.make_therapist("Priya Sandhu", expires=MONDAY - timedelta(days=1))

    def names(service: str) -> list[str]:
        body = client.get(f"/api/v1/therapists?service={service}").get_json()
        return [t["name"] for t in body["therapists"]]

    assert names("assessment") == ["Maya Chen"]
    assert "Priya Sandhu" in names("physio")


def test_booking_and_changing_are_rate_limited_per_address(app, client, clinic):
    # One count for the site's forms and the API: neither is a way around the other.
    app.config["BOOKING_RATE_LIMIT"] = "4 per minute"
    born = {"date_of_birth": BORN.isoformat()}
    assert book(client, "physio", local(TUESDAY, 16), n=3, **born).status_code == 303  # the site
    made = post_booking(client, start=local(TUESDAY, 9))
    token = made.get_json()["manage_token"]
    later = local(TUESDAY, 14).isoformat()
    assert (
        client.post(f"/api/v1/bookings/{token}/reschedule", json={"start": later}).status_code
        == 200
    )
    assert client.post(f"/api/v1/bookings/{token}/cancel", json={}).status_code == 200

    refused = post_booking(client, start=local(TUESDAY, 11), n=2)

    assert refused.status_code == 429
    assert refused.get_json()["error"]["code"] == "too_many_requests"
    assert refused.headers["Retry-After"]
    assert book(client, "physio", local(TUESDAY, 17), n=4, **born).status_code == 429  # the site
    assert count(app) == 2
    assert client.get("/api/v1/services").status_code == 200  # reading is not limited


@pytest.mark.parametrize(("length", "status"), [(1000, 201), (1001, 422)])
def test_notes_are_limited_as_on_the_site(app, client, clinic, length, status):
    body = {
        "service": "physio",
        "start": local(TUESDAY, 9).isoformat(),
        "patient": patient(),
        "notes": "n" * length,
    }
    response = client.post("/api/v1/bookings", json=body)
    assert response.status_code == status
    if status == 422:
        assert response.get_json()["error"]["fields"] == {
            "notes": "Must be at most 1000 characters."
        }


def test_a_null_screening_is_not_an_answer(client, clinic):
    body = {
        "service": "assessment",
        "start": local(TUESDAY, 9).isoformat(),
        "patient": patient(),
        "screening": None,
    }
    response = client.post("/api/v1/bookings", json=body)
    assert response.status_code == 422
    assert set(response.get_json()["error"]["fields"]) == {"screening"}
