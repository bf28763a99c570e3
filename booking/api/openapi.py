"""The OpenAPI 3.1 document of `/api/v1`: its routes are described here, and every schema in
it is generated from the declarations in `schemas.py`, which also validate the requests."""

from __future__ import annotations

from functools import cache
from typing import Any

from pydantic import BaseModel, TypeAdapter
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaMode
from pydantic_core import CoreSchema

from booking.api import schemas

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
    (schemas.Booking, "serialization"),
    (schemas.ServiceList, "serialization"),
    (schemas.TherapistList, "serialization"),
    (schemas.Availability, "serialization"),
    (schemas.Error, "serialization"),
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
TOO_LARGE = _error("`request_entity_too_large`: the body is over `MAX_CONTENT_LENGTH`.")
INVALID = _error("Invalid input; `fields` names each problem.")
BOOKING_ERRORS = {
    "404": _error("No booking has this token."),
    "429": TOO_MANY,
    "503": UNAVAILABLE,
    "409": _error("`slot_unavailable` (with `alternatives`) or `not_changeable`."),
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
                "parameters": [IDEMPOTENCY_KEY],
                "requestBody": _body("BookingRequest"),
                "responses": {
                    "201": _json("Booking", "Booked."),
                    "409": _error(
                        "`slot_unavailable` with `alternatives`, or `assessment_required`."
                    ),
                    "413": TOO_LARGE,
                    "422": INVALID,
                    "429": TOO_MANY,
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
            "description": "Book, view, reschedule and cancel appointments. Times are ISO 8601 "
            'with the clinic\'s UTC offset. Every error is `{"error": {"code", "message"}}`.',
        },
        "servers": [{"url": "/api/v1"}],
        "paths": _paths(),
        "components": {"schemas": components()},
    }
