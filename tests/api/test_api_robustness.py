"""Whatever a client sends, the API answers in its envelope and never with a 500."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support import MONDAY, local, patient

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=50),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=10,
)
field_values = st.one_of(
    json_values,
    st.sampled_from(["Ann\x00", "A\ud800", "\udfff", "\x07bell", "line\nbreak"]),
    st.sampled_from(
        [
            "assessment",
            "follow-up",
            "physio",
            "",
            "2027-03-02T09:00:00-08:00",
            "2027-02-30T09:00:00Z",
            "9999-12-31T23:59:59+14:00",
            "1",
            "-1",
            "2" * 40,
        ]
    ),
)
bodies = st.fixed_dictionaries(
    {},
    optional={
        "service": field_values,
        "therapist_id": field_values,
        "start": field_values,
        "patient": st.one_of(
            json_values,
            st.fixed_dictionaries(
                {}, optional={"name": field_values, "email": field_values, "phone": field_values}
            ),
        ),
        "notes": field_values,
    },
)
FUZZ = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.fixture
def clinic(app, world):
    app.config["BOOKING_RATE_LIMIT"] = "100000 per minute"  # hundreds of examples, one client
    world.make_therapist()
    return world


@FUZZ
@given(body=bodies)
def test_no_booking_body_causes_a_500(client, clinic, body):
    response = client.post("/api/v1/bookings", json=body)
    assert response.status_code in {201, 409, 422}
    assert response.is_json
    if response.status_code != 201:
        assert set(response.get_json()["error"]) >= {"code", "message"}


@FUZZ
@given(
    query=st.dictionaries(
        st.sampled_from(["service", "from", "to", "therapist"]), st.text(max_size=30), max_size=4
    )
)
def test_no_availability_query_causes_a_500(client, clinic, query):
    response = client.get("/api/v1/availability", query_string=query)
    assert response.status_code in {200, 422}
    assert response.is_json


@FUZZ
@given(body=json_values, action=st.sampled_from(["reschedule", "cancel"]))
def test_no_change_body_causes_a_500(client, clinic, body, action):
    made = client.post(
        "/api/v1/bookings",
        json={
            "service": "physio",
            "start": local(MONDAY + timedelta(days=30), 9).isoformat(),
            "patient": patient(),
        },
        headers={"Idempotency-Key": "fuzz-setup"},
    )
    token = made.get_json()["manage_token"]
    response = client.post(f"/api/v1/bookings/{token}/{action}", json=body)
    assert response.status_code in {200, 409, 422}
    assert response.is_json


def test_logs_carry_ids_never_patient_details(client, clinic, caplog):
    caplog.set_level(logging.DEBUG)
    booked = client.post(
        "/api/v1/bookings",
        json={
            "service": "physio",
            "start": local(MONDAY + timedelta(days=1), 9).isoformat(),
            "patient": patient(),
            "notes": "left shoulder",
        },
    ).get_json()
    client.post(f"/api/v1/bookings/{booked['manage_token']}/cancel", json={"reason": "better"})
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert f"appointment {booked['id']} booked" in logged
    for secret in (
        "Pat Ient1",
        "patient1@example.com",
        "604-555-0199",
        "left shoulder",
        booked["manage_token"],
    ):
        assert secret not in logged


@pytest.mark.parametrize(
    ("method", "url", "body"),
    [
        ("get", "/api/v1/availability?service=physio&from=9999-12-31", None),
        ("get", "/api/v1/availability?service=physio&from=2027-03-02&to=9999-12-31", None),
        ("post", "/api/v1/bookings", "[" * 30000 + "]" * 30000),
        ("post", "/api/v1/bookings", '{"a":' * 10000 + "1" + "}" * 10000),
    ],
)
def test_inputs_that_once_caused_500s(client, clinic, method, url, body):
    response = getattr(client, method)(url, data=body, content_type="application/json")
    assert response.status_code == 422
    assert response.is_json


@pytest.mark.parametrize("bad", ["Ann\x00", "A\ud800", "x\x1b[31m"])
@pytest.mark.parametrize("field", ["name", "notes"])
def test_text_no_database_can_store_is_refused(app, client, clinic, field, bad):
    body = {
        "service": "physio",
        "start": local(MONDAY + timedelta(days=1), 9).isoformat(),
        "patient": patient(),
    }
    if field == "notes":
        body["notes"] = bad
        expected = "notes"
    else:
        body["patient"] = patient() | {"name": bad}
        expected = "patient.name"
    response = client.post("/api/v1/bookings", json=body)
    assert response.status_code == 422
    assert expected in response.get_json()["error"]["fields"]


def test_a_cancel_reason_no_database_can_store_is_refused(client, clinic):
    made = client.post(
        "/api/v1/bookings",
        json={
            "service": "physio",
            "start": local(MONDAY + timedelta(days=1), 9).isoformat(),
            "patient": patient(),
        },
    ).get_json()
    response = client.post(
        f"/api/v1/bookings/{made['manage_token']}/cancel", json={"reason": "a\x00b"}
    )
    assert response.status_code == 422


def test_a_name_with_a_line_break_is_refused(client, world):
    world.make_therapist()
    body = {
        "service": "physio",
        "start": "2027-03-02T09:00:00-08:00",
        "patient": {"name": "Ann\nLee", "email": "ann@example.com", "phone": "604-555-0100"},
    }
    response = client.post("/api/v1/bookings", json=body)
    assert response.status_code == 422
    assert "patient.name" in response.get_json()["error"]["fields"]
