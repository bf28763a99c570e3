"""The served OpenAPI document says what the server refuses."""

from __future__ import annotations

import json

import pytest

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
    assert set(schemas["Patient"]["required"]) == {"name", "email", "phone"}


def test_every_reference_names_a_component(schemas):
    text = json.dumps(spec())
    names = {part.split('"')[0] for part in text.split('"#/components/schemas/')[1:]}
    assert names <= set(schemas)
