"""API endpoints: parse, call one service, serialize."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import Response, jsonify, request

from booking import clock
from booking.api import bp, parse
from booking.api.openapi import spec
from booking.availability import Slot
from booking.errors import error_response, status_of
from booking.models import Appointment, Clinic, Service, Therapist
from booking.services import booking, changes
from booking.services.availability import MAX_RANGE_DAYS, find_slots
from booking.services.catalog import Catalog, current, latest
from booking.services.errors import BookingError, InvalidRequest, SlotUnavailable
from booking.web.params import changes_limit


@bp.errorhandler(BookingError)
def booking_error(error: BookingError) -> Response:
    details = dict(error.details)
    if isinstance(error, SlotUnavailable):
        details["alternatives"] = _slots(error.alternatives, current().clinic, clock.now())
    return error_response(status_of(error), error.code, error.message, **details)


@bp.after_request
def no_store(response: Response) -> Response:
    # Answers carry manage tokens and live availability: no cache may keep them.
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/openapi.json")
def openapi() -> Response:
    return jsonify(spec())


@bp.get("/services")
def services() -> Response:
    return jsonify({"services": [_service(s) for s in current().active_services()]})


@bp.get("/therapists")
def therapists() -> Response:
    catalog = current()
    slug = request.args.get("service")
    if slug is None:
        rows = list(catalog.therapists.values())
    else:
        today = clock.now().astimezone(catalog.clinic.zone).date()
        rows = catalog.therapists_for(catalog.service(slug), on=today)
    return jsonify({"therapists": [_therapist(t) for t in rows]})


@bp.get("/availability")
def availability() -> Response:
    catalog = current()
    zone = catalog.clinic.zone
    fields = parse.Fields(request.args.to_dict())
    slug = fields.text("service", limit=60)
    therapist_id = fields.identifier("therapist", required=False)
    now = clock.now()
    today = now.astimezone(zone).date()
    first = parse.day(request.args.get("from"), "from", fields) or today
    last = parse.day(request.args.get("to"), "to", fields) or first + timedelta(days=6)
    if last < first:
        fields.fail("to", "Must not be before `from`.")
    elif (last - first).days >= MAX_RANGE_DAYS:
        fields.fail("to", f"The range may span at most {MAX_RANGE_DAYS} days.")
    fields.done()
    service = catalog.service(slug)
    therapists = catalog.therapists_for(service, therapist_id)
    if therapist_id is not None and not therapists:
        booking.offering_therapist(catalog, therapist_id, service)  # raises the reason
    slots = find_slots(catalog, service, first, last, now=now, therapists=therapists)
    return jsonify({"timezone": zone.key, "slots": _slots(slots, catalog.clinic, now)})


@bp.post("/bookings")
@changes_limit
def create_booking() -> tuple[Response, int]:
    key = parse.idempotency_key(request.headers.get("Idempotency-Key"))
    wanted = parse.booking_request(_json_body())
    now = clock.now()
    booked = booking.book(wanted, now=now, idempotency_key=key)
    body = _booking(booked.appointment, now, latest()) | {"manage_token": booked.manage_token}
    response = jsonify(body)
    if booked.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return response, 201


@bp.get("/bookings/<token>")
def show_booking(token: str) -> Response:
    now = clock.now()
    return jsonify(_booking(booking.appointment_for_token(token, now=now), now, current()))


@bp.post("/bookings/<token>/reschedule")
@changes_limit
def reschedule_booking(token: str) -> Response:
    appointment = booking.appointment_for_token(token, now=clock.now())
    fields = parse.Fields(_json_body())
    start = fields.instant("start")
    therapist_id = fields.identifier("therapist_id", required=False)
    fields.done()
    assert start is not None
    now = clock.now()
    moved = booking.reschedule(appointment.id, start, now=now, therapist_id=therapist_id)
    return jsonify(_booking(moved, now, latest()))


@bp.post("/bookings/<token>/cancel")
@changes_limit
def cancel_booking(token: str) -> Response:
    appointment = booking.appointment_for_token(token, now=clock.now())
    fields = parse.Fields(_json_body(allow_empty=True))
    reason = fields.text("reason", limit=500, required=False)
    fields.done()
    now = clock.now()
    cancelled = booking.cancel(appointment.id, now=now, reason=reason)
    return jsonify(_booking(cancelled, now, latest()))


def _json_body(*, allow_empty: bool = False) -> dict[str, Any]:
    if allow_empty and not request.get_data(cache=True):
        return {}
    try:
        data = request.get_json(silent=True)
    except RecursionError:  # nested deeper than the JSON decoder can follow
        data = None
    if not isinstance(data, dict):
        raise InvalidRequest({"body": "Must be a JSON object (Content-Type: application/json)."})
    return data


def _local(instant: datetime, zone: ZoneInfo) -> str:
    return instant.astimezone(zone).isoformat()


def _slots(slots: Sequence[Slot], clinic: Clinic, now: datetime) -> list[dict[str, Any]]:
    # Therapists share start times, so each instant is formatted once per response.
    text: dict[datetime, str] = {}
    zone = clinic.zone

    def local(instant: datetime) -> str:
        if (formatted := text.get(instant)) is None:
            formatted = text[instant] = instant.astimezone(zone).isoformat()
        return formatted

    return [
        {
            "start": local(s.start),
            "end": local(s.end),
            "therapist_id": s.therapist_id,
            "inside_cutoff": changes.inside_cutoff(s.start, clinic, now),
        }
        for s in slots
    ]


def _service(service: Service) -> dict[str, Any]:
    return {
        "slug": service.slug,
        "name": service.name,
        "description": service.description,
        "preparation": service.preparation,
        "duration_minutes": service.duration_minutes,
        "buffer_minutes": service.buffer_minutes,
        "requires_ims": service.requires_ims,
        "requires": service.prerequisite.slug if service.prerequisite else None,
    }


def _therapist(therapist: Therapist) -> dict[str, Any]:
    expires = therapist.ims_certification_expires
    return {
        "id": therapist.id,
        "name": therapist.name,
        "bio": therapist.bio,
        "ims_certified": therapist.ims_certified,
        "ims_certification_expires": expires.isoformat() if expires else None,
    }


def _booking(appointment: Appointment, now: datetime, catalog: Catalog) -> dict[str, Any]:
    """The booking as the API shows it. After a change, `catalog` may be the snapshot the
    change itself was checked against (`latest()`): no need to ask for the version again."""
    clinic = catalog.clinic
    zone = clinic.zone
    return {
        "id": appointment.id,
        "reference": appointment.reference,
        "status": appointment.status,
        "start": _local(appointment.start_at, zone),
        "end": _local(appointment.end_at, zone),
        "service": catalog.services[appointment.service_id].slug,
        "therapist_id": appointment.therapist_id,
        "can_change_online": booking.changeable_online(appointment, clinic, now),
        "change_deadline": _local(booking.change_deadline(appointment, clinic), zone),
    }
