"""The served OpenAPI document says what the server refuses."""

from __future__ import annotations

import json

import pytest
from documented import check_against_document

from booking.api.openapi import spec
from booking.services.validation import NOTES_MAX_LENGTH


@pytest.fixture(scope="module")
def schemas():
    return spec()["components"]["schemas"]


def test_the_served_document_is_the_generated_one(client):
    assert client.get("/api/v1/openapi.json").get_json() == spec()


def test_a_booking_request_says_what_the_booking_service_refuses(schemas):
    booking = schemas["BookingRequest"]["properties"]
    assert booking["service"]["minLength"] == 1
    integer, digits, null = booking["therapist_id"]["anyOf"]
    assert digits == {"type": "string", "pattern": "^[0-9]+$"}
    assert integer == {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}
    assert null == {"type": "null"}
    assert booking["notes"]["anyOf"][0] == {"type": "string", "maxLength": NOTES_MAX_LENGTH}
    assert NOTES_MAX_LENGTH == 1000
    for name in ("name", "email", "phone"):
        field = schemas["Patient"]["properties"][name]
        assert field["minLength"] == 1 and field["pattern"] == r"\S", name
    assert set(schemas["Patient"]["required"]) == {"name", "email", "phone", "date_of_birth"}
    born = schemas["Patient"]["properties"]["date_of_birth"]
    assert (born["type"], born["format"]) == ("string", "date")
    assert born["pattern"] == "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
    # A visit is for a new patient or a person of the household, one or the other.
    assert schemas["BookingRequest"]["oneOf"] == [
        {"required": ["patient"]},
        {"required": ["person_id"]},
    ]
    assert {"type": "null"} not in booking["person_id"]["anyOf"]


def test_the_document_describes_the_patient_access_token():
    document = spec()
    assert document["components"]["securitySchemes"]["patientToken"] == {
        "type": "http",
        "scheme": "bearer",
        "description": document["components"]["securitySchemes"]["patientToken"]["description"],
    }
    paths = document["paths"]
    booking = paths["/bookings"]["post"]
    assert booking["security"] == [{}, {"patientToken": []}]  # optional: new patients
    assert {"201", "401", "403", "409", "422", "429"} <= set(booking["responses"])
    assert paths["/household"]["get"]["security"] == [{"patientToken": []}]
    assert set(paths["/household"]["get"]["responses"]) >= {"200", "401"}
    assert set(paths["/access-links"]["post"]["responses"]) >= {"202", "422", "429"}
    assert set(paths["/access-tokens"]["post"]["responses"]) >= {"201", "410", "422", "429"}
    token = document["components"]["schemas"]["AccessToken"]
    assert set(token["required"]) == {
        "access_token", "token_type", "expires_at", "expires_in", "people",
    }  # fmt: skip
    person = document["components"]["schemas"]["Person"]
    assert set(person["properties"]) == {"id", "name", "preferred_name", "date_of_birth"}


def test_every_reference_names_a_component(schemas):
    text = json.dumps(spec())
    names = {part.split('"')[0] for part in text.split('"#/components/schemas/')[1:]}
    assert names <= set(schemas)


@pytest.mark.parametrize(
    ("path", "status", "body", "wrong"),
    [
        ("/services", 200, {"services": []}, None),
        ("/services", 418, {"services": []}, "undocumented"),
        ("/services", 200, {"services": [{"slug": 1}]}, "does not match"),
        ("/services", 200, {}, "does not match"),
        ("/services", 422, {"error": {"code": "x", "message": "y"}}, "undocumented"),
        ("/therapists", 422, {"error": {"code": "x", "message": "y"}}, None),
        ("/therapists", 422, {"error": {"code": "invalid_request"}}, "does not match"),
        ("/bookings/abc/cancel", 200, {"id": 1}, "does not match"),
    ],
)
def test_api_tests_hold_each_response_to_the_document(path, status, body, wrong):
    method = "POST" if path.endswith("cancel") else "GET"
    if wrong is None:
        check_against_document(method, "/api/v1" + path, status, body)
        return
    with pytest.raises(AssertionError, match=wrong):
        check_against_document(method, "/api/v1" + path, status, body)


def test_routes_outside_the_document_are_not_held_to_it():
    check_against_document("DELETE", "/api/v1/bookings", 405, {"error": {}})
    check_against_document("GET", "/book", 200, None)
