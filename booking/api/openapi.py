"""The OpenAPI 3.1 description of `/api/v1`, kept beside the views it describes."""

from __future__ import annotations

from typing import Any

from booking.models.screening import KEYS, QUESTIONS


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _error(description: str) -> dict[str, Any]:
    return _json(_ref("Error"), description)


TOKEN = {
    "name": "token",
    "in": "path",
    "required": True,
    "description": "The manage token returned when the booking was made.",
    "schema": {"type": "string"},
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
BOOKING_ERRORS = {
    "404": _error("No booking has this token."),
    "429": TOO_MANY,
    "503": UNAVAILABLE,
    "409": _error("`slot_unavailable` (with `alternatives`) or `not_changeable`."),
    "403": _error("`inside_cutoff`: changes this close to the visit are by phone only."),
    "422": _error("Invalid input; `fields` names each problem."),
}

SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {
                    "code": {"type": "string", "examples": ["slot_unavailable"]},
                    "message": {"type": "string"},
                    "fields": {
                        "type": "object",
                        "additionalProperties": {"type": "string"},
                        "description": "Per-field messages (422).",
                    },
                    "alternatives": {
                        "type": "array",
                        "items": _ref("Slot"),
                        "description": "Up to 5 bookable slots near the one refused (409).",
                    },
                    "required_service": {"type": "string"},
                    "phone": {"type": "string"},
                },
            }
        },
    },
    "Service": {
        "type": "object",
        "properties": {
            "slug": {"type": "string"},
            "name": {"type": "string"},
            "description": {"type": "string"},
            "preparation": {"type": "string"},
            "duration_minutes": {"type": "integer"},
            "buffer_minutes": {"type": "integer"},
            "requires_ims": {"type": "boolean"},
            "requires": {"type": ["string", "null"], "description": "Slug of a prior service."},
        },
    },
    "Therapist": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "name": {"type": "string"},
            "bio": {"type": "string"},
            "ims_certified": {"type": "boolean"},
            "ims_certification_expires": {"type": ["string", "null"], "format": "date"},
        },
    },
    "Slot": {
        "type": "object",
        "properties": {
            "start": {"type": "string", "format": "date-time"},
            "end": {"type": "string", "format": "date-time"},
            "therapist_id": {"type": "integer"},
            "inside_cutoff": {
                "type": "boolean",
                "description": "Booked now, this time can be changed online only during the "
                "clinic's grace period after booking, then by phone: tell the patient.",
            },
        },
    },
    "BookingRequest": {
        "type": "object",
        "required": ["service", "start", "patient"],
        "properties": {
            "service": {"type": "string", "maxLength": 60},
            "therapist_id": {
                "type": ["integer", "null"],
                "description": "Omit or null for the first therapist free at `start`.",
            },
            "start": {"type": "string", "format": "date-time", "description": "With offset."},
            "patient": {
                "type": "object",
                "required": ["name", "email", "phone"],
                "properties": {
                    "name": {"type": "string", "maxLength": 120},
                    "email": {"type": "string", "format": "email", "maxLength": 254},
                    "phone": {"type": "string", "maxLength": 40},
                },
            },
            "notes": {"type": "string", "maxLength": 2000},
            "screening": {"$ref": "#/components/schemas/Screening"},
        },
    },
    "Screening": {
        "type": "object",
        "description": (
            "The IMS safety screening and consent. Required (422 `screening` otherwise) for a "
            "needling service with no prerequisite, that is a service with `requires_ims` and "
            "no `requires`: an initial assessment; refused for any other service. A `true` "
            "answer never refuses the booking: the therapist reviews it before needling."
        ),
        "required": [*KEYS, "consent"],
        "additionalProperties": False,
        "properties": {
            **{key: {"type": "boolean", "description": text} for key, text in QUESTIONS},
            "consent": {
                "const": True,
                "description": "The patient understands what IMS involves and agrees to it.",
            },
        },
    },
    "Booking": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "reference": {"type": "string", "examples": ["K7MA-4QXD"]},
            "status": {"enum": ["booked", "cancelled", "completed", "no_show"]},
            "start": {"type": "string", "format": "date-time"},
            "end": {"type": "string", "format": "date-time"},
            "service": {"type": "string"},
            "therapist_id": {"type": "integer"},
            "can_change_online": {"type": "boolean"},
            "change_deadline": {
                "type": "string",
                "format": "date-time",
                "description": "Until then the patient may reschedule or cancel online: the "
                "later of the cut-off before the visit and the grace period after the booking "
                "or last move (never after the start).",
            },
            "manage_token": {
                "type": "string",
                "description": "Only in the response to the POST that created the booking.",
            },
        },
    },
}


def spec() -> dict[str, Any]:
    """Return the OpenAPI document."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "booking API",
            "version": "1",
            "description": "Book, view, reschedule and cancel appointments. Times are ISO 8601 "
            'with the clinic\'s UTC offset. Every error is `{"error": {"code", "message"}}`.',
        },
        "servers": [{"url": "/api/v1"}],
        "paths": {
            "/services": {
                "get": {
                    "summary": "List bookable services",
                    "responses": {
                        "200": _json(
                            {
                                "type": "object",
                                "properties": {
                                    "services": {"type": "array", "items": _ref("Service")}
                                },
                            },
                            "The active services.",
                        )
                    },
                }
            },
            "/therapists": {
                "get": {
                    "summary": "List therapists, optionally only those who can do a service",
                    "parameters": [
                        {"name": "service", "in": "query", "schema": {"type": "string"}}
                    ],
                    "responses": {
                        "200": _json(
                            {
                                "type": "object",
                                "properties": {
                                    "therapists": {"type": "array", "items": _ref("Therapist")}
                                },
                            },
                            "Active therapists.",
                        ),
                        "422": _error("Unknown service."),
                    },
                }
            },
            "/availability": {
                "get": {
                    "summary": "Bookable slots of a service between two local dates, inclusive",
                    "parameters": [
                        {
                            "name": "service",
                            "in": "query",
                            "required": True,
                            "schema": {"type": "string"},
                        },
                        {
                            "name": "from",
                            "in": "query",
                            "schema": {"type": "string", "format": "date"},
                        },
                        {
                            "name": "to",
                            "in": "query",
                            "schema": {"type": "string", "format": "date"},
                            "description": "At most 31 days after `from`, inclusive.",
                        },
                        {"name": "therapist", "in": "query", "schema": {"type": "integer"}},
                    ],
                    "responses": {
                        "200": _json(
                            {
                                "type": "object",
                                "properties": {
                                    "timezone": {"type": "string"},
                                    "slots": {"type": "array", "items": _ref("Slot")},
                                },
                            },
                            "Slots sorted by start, then therapist.",
                        ),
                        "422": _error("Invalid parameters."),
                    },
                }
            },
            "/bookings": {
                "post": {
                    "summary": "Book an appointment",
                    "parameters": [
                        {
                            "name": "Idempotency-Key",
                            "in": "header",
                            "schema": {"type": "string", "maxLength": 255},
                            "description": "A retry with the same key returns the first result.",
                        },
                    ],
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": _ref("BookingRequest")}},
                    },
                    "responses": {
                        "201": _json(_ref("Booking"), "Booked."),
                        "409": _error(
                            "`slot_unavailable` with `alternatives`, or `assessment_required`."
                        ),
                        "422": _error("Invalid input; `fields` names each problem."),
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
                        "200": _json(_ref("Booking"), "The booking."),
                        "404": BOOKING_ERRORS["404"],
                    },
                }
            },
            "/bookings/{token}/reschedule": {
                "post": {
                    "summary": "Move a booking to another time and optionally therapist",
                    "parameters": [TOKEN],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "required": ["start"],
                                    "properties": {
                                        "start": {"type": "string", "format": "date-time"},
                                        "therapist_id": {"type": "integer"},
                                    },
                                }
                            }
                        },
                    },
                    "responses": {"200": _json(_ref("Booking"), "Moved."), **BOOKING_ERRORS},
                }
            },
            "/bookings/{token}/cancel": {
                "post": {
                    "summary": "Cancel a booking",
                    "parameters": [TOKEN],
                    "requestBody": {
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "properties": {"reason": {"type": "string", "maxLength": 500}},
                                }
                            }
                        }
                    },
                    "responses": {"200": _json(_ref("Booking"), "Cancelled."), **BOOKING_ERRORS},
                }
            },
            "/openapi.json": {
                "get": {
                    "summary": "This document",
                    "responses": {"200": {"description": "OpenAPI 3.1"}},
                }
            },
        },
        "components": {"schemas": SCHEMAS},
    }
