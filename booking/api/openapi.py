"""The OpenAPI 3.1 document of `/api/v1`: its routes are described here, and every schema in
it is generated from the declarations in `schemas.py` (which also validate the requests) and
`answers.py`."""

from __future__ import annotations

from functools import cache
from typing import Any

from pydantic import BaseModel, TypeAdapter
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaMode
from pydantic_core import CoreSchema

from booking.api import answers, schemas

REF = "#/components/schemas/{model}"
NULL = {"type": "null"}


class _Generator(GenerateJsonSchema):
    """pydantic's JSON Schema, less the titles it derives from each property's name."""

    def field_title_should_be_set(self, schema: CoreSchema) -> bool:
        return False


# Each component: requests as pydantic validates them, responses as the views write them.
COMPONENTS: tuple[tuple[Any, JsonSchemaMode], ...] = (
    (schemas.BookingRequest, "validation"),
    (schemas.RescheduleRequest, "validation"),
    (schemas.CancelRequest, "validation"),
    (schemas.AccessLinkRequest, "validation"),
    (schemas.AccessTokenRequest, "validation"),
    (answers.AccessLinkAnswer, "serialization"),
    (answers.AccessToken, "serialization"),
    (answers.Household, "serialization"),
    (answers.Booking, "serialization"),
    (answers.ServiceList, "serialization"),
    (answers.TherapistList, "serialization"),
    (answers.Availability, "serialization"),
    (answers.Error, "serialization"),
)


def _schema(kind: Any, mode: JsonSchemaMode) -> dict[str, Any]:
    return TypeAdapter(kind).json_schema(ref_template=REF, schema_generator=_Generator, mode=mode)


def components() -> dict[str, Any]:
    """Every schema the document refers to, by name (nested ones come along)."""
    found: dict[str, Any] = {}
    for kind, mode in COMPONENTS:
        schema = _schema(kind, mode)
        found.update(schema.pop("$defs", {}))
        found[kind.__name__] = schema
    return dict(sorted(found.items()))


def _present(schema: dict[str, Any]) -> dict[str, Any]:
    """A parameter's schema: a query parameter is absent, never null."""
    schema = {k: v for k, v in schema.items() if k not in {"default", "description"}}
    branches = [branch for branch in schema.pop("anyOf", ()) if branch != NULL]
    if len(branches) == 1:
        schema.update(branches[0])
    elif branches:
        schema["anyOf"] = branches
    return schema


def query(model: type[BaseModel]) -> list[dict[str, Any]]:
    """The query parameters a model reads, each with its generated schema."""
    schema = _schema(model, "validation")
    required = set(schema.get("required", ()))
    parameters = []
    for name, field in schema["properties"].items():
        parameter = {"name": name, "in": "query", "required": name in required}
        if "description" in field:
            parameter["description"] = field["description"]
        parameters.append(parameter | {"schema": _present(field)})
    return parameters


def _ref(name: str) -> dict[str, str]:
    return {"$ref": REF.format(model=name)}


def _json(name: str, description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ref(name)}}}


def _error(description: str) -> dict[str, Any]:
    return _json("Error", description)


TOKEN = {
    "name": "token",
    "in": "path",
    "required": True,
    "description": "The manage token returned when the booking was made.",
    "schema": {"type": "string"},
}
IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "schema": {"type": "string", "pattern": "^[!-~]{1,255}$"},
    "description": "A retry with the same key returns the first result (1 to 255 visible "
    "ASCII characters).",
}
TOO_MANY = _error(
    "`too_many_requests`: booking, rescheduling and cancelling share one limit per client"
    " address (`BOOKING_RATE_LIMIT`); `Retry-After` says when to try again."
)
UNAVAILABLE = _error(
    "`service_unavailable`: the database is out of reach for a moment (any route may answer"
    " so); `Retry-After` says when to try again. Sending a booking again with the same"
    " `Idempotency-Key` never books twice."
)
ACCESS_TOO_MANY = _error(
    "`too_many_requests`: asking for links and redeeming them share one limit per client"
    " address, of `BOOKING_RATE_LIMIT`'s size; `Retry-After` says when to try again."
)
# The patient access token (`POST /access-tokens`): optional where a request may go without it.
BEARER = "patientToken"
SECURITY_SCHEMES = {
    BEARER: {
        "type": "http",
        "scheme": "bearer",
        "description": "A patient access token (`POST /access-tokens`): the household an "
        "emailed one-time link verified. It works for 30 minutes.",
    }
}
NOT_AUTHORIZED = _error(
    "`invalid_token`: the bearer token is missing (where required), malformed or expired;"
    " `WWW-Authenticate: Bearer` says so too. Ask for a new link."
)
TOO_LARGE = _error("`request_entity_too_large`: the body is over `MAX_CONTENT_LENGTH`.")
INVALID = _error("Invalid input; `fields` names each problem.")
BOOKING_ERRORS = {
    "404": _error("No booking has this token."),
    "429": TOO_MANY,
    "503": UNAVAILABLE,
    "409": _error(
        "`slot_unavailable` (with `alternatives`), `too_soon` (a needling visit closer to "
        "another of the person's than the clinic's spacing; `alternatives` keep it) or "
        "`not_changeable`."
    ),
    "403": _error("`inside_cutoff`: changes this close to the visit are by phone only."),
    "413": TOO_LARGE,
    "422": INVALID,
}


def _body(name: str, *, required: bool = True) -> dict[str, Any]:
    return {"required": required, "content": {"application/json": {"schema": _ref(name)}}}


def _paths() -> dict[str, Any]:
    return {
        "/services": {
            "get": {
                "summary": "List bookable services",
                "responses": {"200": _json("ServiceList", "The active services.")},
            }
        },
        "/therapists": {
            "get": {
                "summary": "List therapists, optionally only those who can do a service",
                "parameters": [
                    {
                        "name": "service",
                        "in": "query",
                        "description": "A service's `slug`: only who may be booked for it today.",
                        "schema": {"type": "string"},
                    }
                ],
                "responses": {
                    "200": _json("TherapistList", "Active therapists."),
                    "422": _error("Unknown service."),
                },
            }
        },
        "/availability": {
            "get": {
                "summary": "Bookable slots of a service between two local dates, inclusive",
                "parameters": query(schemas.AvailabilityQuery),
                "responses": {
                    "200": _json("Availability", "Slots sorted by start, then therapist."),
                    "422": _error("Invalid parameters."),
                },
            }
        },
        "/bookings": {
            "post": {
                "summary": "Book an appointment",
                "description": "A new patient (`patient`) needs no token. A person of a "
                "verified household (`person_id`) needs its patient access token, and a "
                "follow-up (a service with `requires`) can be booked only so.",
                "security": [{}, {BEARER: []}],
                "parameters": [IDEMPOTENCY_KEY],
                "requestBody": _body("BookingRequest"),
                "responses": {
                    "201": _json("Booking", "Booked."),
                    "401": NOT_AUTHORIZED,
                    "403": _error(
                        "`verification_required`: a follow-up, or a `person_id`, without a "
                        "patient access token; the same answer for every email."
                    ),
                    "409": _error(
                        "`slot_unavailable` with `alternatives`; `too_soon`, a needling visit "
                        "closer to another of the person's than the clinic's spacing (the "
                        "message names the other visit's day; `alternatives` keep the "
                        "spacing); `assessment_required`; or `reassessment_required`, a "
                        "follow-up when the clinic's rule asks for a re-assessment first "
                        "(`required_service` is its slug)."
                    ),
                    "413": TOO_LARGE,
                    "422": _error(
                        "Invalid input; `fields` names each problem (`person_id` for a person "
                        "who is not of the token's household, or no person at all)."
                    ),
                    "429": TOO_MANY,
                    "503": UNAVAILABLE,
                },
            }
        },
        "/access-links": {
            "post": {
                "summary": "Email a one-time link to a patient on record (Been here before?)",
                "description": "The answer is the same, byte for byte, whether or not the "
                "address is on record: only its inbox learns. The link works once, for 30 "
                "minutes; its `token=` parameter is what `POST /access-tokens` takes.",
                "requestBody": _body("AccessLinkRequest"),
                "responses": {
                    "202": _json("AccessLinkAnswer", "Sent, if the address is on record."),
                    "413": TOO_LARGE,
                    "422": _error("`email` is not an email address."),
                    "429": ACCESS_TOO_MANY,
                    "503": UNAVAILABLE,
                },
            }
        },
        "/access-tokens": {
            "post": {
                "summary": "Redeem an emailed link for a patient access token",
                "requestBody": _body("AccessTokenRequest"),
                "responses": {
                    "201": _json("AccessToken", "The token and the household's people."),
                    "410": _error(
                        "`link_invalid`: the link is unknown, was used already or is over 30 "
                        "minutes old (one answer for all three)."
                    ),
                    "413": TOO_LARGE,
                    "422": INVALID,
                    "429": ACCESS_TOO_MANY,
                    "503": UNAVAILABLE,
                },
            }
        },
        "/household": {
            "get": {
                "summary": "The verified household's people and their coming visits",
                "security": [{BEARER: []}],
                "responses": {
                    "200": _json("Household", "People, and booked visits still to come."),
                    "401": NOT_AUTHORIZED,
                    "503": UNAVAILABLE,
                },
            }
        },
        "/bookings/{token}": {
            "get": {
                "summary": "Show a booking",
                "parameters": [TOKEN],
                "responses": {
                    "200": _json("Booking", "The booking."),
                    "404": BOOKING_ERRORS["404"],
                },
            }
        },
        "/bookings/{token}/reschedule": {
            "post": {
                "summary": "Move a booking to another time and optionally therapist",
                "parameters": [TOKEN],
                "requestBody": _body("RescheduleRequest"),
                "responses": {"200": _json("Booking", "Moved."), **BOOKING_ERRORS},
            }
        },
        "/bookings/{token}/cancel": {
            "post": {
                "summary": "Cancel a booking",
                "parameters": [TOKEN],
                "requestBody": _body("CancelRequest", required=False),
                "responses": {"200": _json("Booking", "Cancelled."), **BOOKING_ERRORS},
            }
        },
        "/openapi.json": {
            "get": {
                "summary": "This document",
                "responses": {
                    "200": {
                        "description": "OpenAPI 3.1",
                        "content": {"application/json": {"schema": {"type": "object"}}},
                    }
                },
            }
        },
    }


@cache
def spec() -> dict[str, Any]:
    """Return the OpenAPI document (made once: it depends on the code alone)."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "booking API",
            "version": "1",
            "description": "Book, view, reschedule and cancel appointments; returning patients "
            "verify their household by an emailed link (`/access-links`, `/access-tokens`) to "
            "book follow-ups. Times are ISO 8601 with the clinic's UTC offset. Every error is "
            '`{"error": {"code", "message"}}`.',
        },
        "servers": [{"url": "/api/v1"}],
        "paths": _paths(),
        "components": {"schemas": components(), "securitySchemes": SECURITY_SCHEMES},
    }
