"""API endpoints: parse, call one service, serialize."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from flask import Response, jsonify, request

from booking import clock
from booking.api import answers, bp, schemas
from booking.api.access import TokenInvalid, bearer_contact, www_authenticate
from booking.api.bodies import json_body
from booking.api.openapi import spec
from booking.api.schemas import parse
from booking.availability import Slot
from booking.errors import error_response, status_of
from booking.models import Appointment, Status
from booking.services import booking, changes
from booking.services.access import LinkInvalid
from booking.services.availability import MAX_RANGE_DAYS, find_slots
from booking.services.booking import Visit
from booking.services.catalog import (
    Catalog,
    ClinicInfo,
    ServiceInfo,
    TherapistInfo,
    current,
    latest,
)
from booking.services.errors import (
    BookingError,
    InvalidRequest,
    SlotUnavailable,
    VerificationRequired,
)
from booking.web.params import changes_limit

# The API's own answers to refusals the site words as pages. A follow-up without a verified
# person is 403 for every email alike: whether the address is a patient's is never told.
STATUS: dict[type[BookingError], int] = {
    VerificationRequired: 403,
    LinkInvalid: 410,
    TokenInvalid: 401,
}


@bp.errorhandler(BookingError)
def booking_error(error: BookingError) -> Response:
    details = dict(error.details)
    if isinstance(error, SlotUnavailable):
        details["alternatives"] = _slots(error.alternatives, current().clinic, clock.now())
    status = STATUS.get(type(error)) or status_of(error)
    response = error_response(status, error.code, error.message, **details)
    return www_authenticate(response) if status == 401 else response


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
    body: answers.ServiceList = {"services": [_service(s) for s in current().active_services()]}
    return jsonify(body)


@bp.get("/therapists")
def therapists() -> Response:
    catalog = current()
    slug = request.args.get("service")
    if slug is None:
        rows = list(catalog.therapists.values())
    else:
        today = clock.now().astimezone(catalog.clinic.zone).date()
        rows = catalog.therapists_for(catalog.service(slug), on=today)
    body: answers.TherapistList = {"therapists": [_therapist(t) for t in rows]}
    return jsonify(body)


@bp.get("/availability")
def availability() -> Response:
    catalog = current()
    zone = catalog.clinic.zone
    asked = parse(schemas.AvailabilityQuery, request.args.to_dict())
    now = clock.now()
    first = asked.first or now.astimezone(zone).date()
    last = asked.last or first + timedelta(days=6)
    if last < first:
        raise InvalidRequest({"to": "Must not be before `from`."})
    if (last - first).days >= MAX_RANGE_DAYS:
        raise InvalidRequest({"to": f"The range may span at most {MAX_RANGE_DAYS} days."})
    service = catalog.service(asked.service)
    therapist_id = asked.therapist
    therapists = catalog.therapists_for(service, therapist_id)
    if therapist_id is not None and not therapists:
        booking.offering_therapist(catalog, therapist_id, service)  # raises the reason
    slots = find_slots(catalog, service, first, last, now=now, therapists=therapists)
    body: answers.Availability = {
        "timezone": zone.key,
        "slots": _slots(slots, catalog.clinic, now),
    }
    return jsonify(body)


@bp.post("/bookings")
@changes_limit
def create_booking() -> tuple[Response, int]:
    key = schemas.idempotency_key(request.headers.get("Idempotency-Key"))
    now = clock.now()
    contact_id = bearer_contact(now)  # the household an emailed link verified, or None
    today = now.astimezone(current().clinic.zone).date()
    asked = parse(schemas.BookingRequest, json_body(), today=today)
    booked = booking.book(asked.wanted(contact_id), now=now, idempotency_key=key)
    body = _booking(booked.appointment, now, latest())
    body["manage_token"] = booked.manage_token
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
    asked = parse(schemas.RescheduleRequest, json_body())
    now = clock.now()
    moved = booking.reschedule(
        appointment.id, asked.start, now=now, therapist_id=asked.therapist_id
    )
    return jsonify(_booking(moved, now, latest()))


@bp.post("/bookings/<token>/cancel")
@changes_limit
def cancel_booking(token: str) -> Response:
    appointment = booking.appointment_for_token(token, now=clock.now())
    asked = parse(schemas.CancelRequest, json_body(allow_empty=True))
    now = clock.now()
    cancelled = booking.cancel(appointment.id, now=now, reason=asked.reason or "")
    return jsonify(_booking(cancelled, now, latest()))


def _local(instant: datetime, zone: ZoneInfo) -> str:
    return instant.astimezone(zone).isoformat()


def _slots(slots: Sequence[Slot], clinic: ClinicInfo, now: datetime) -> list[answers.Slot]:
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


def _service(service: ServiceInfo) -> answers.Service:
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


def _therapist(therapist: TherapistInfo) -> answers.Therapist:
    expires = therapist.ims_certification_expires
    return {
        "id": therapist.id,
        "name": therapist.name,
        "bio": therapist.bio,
        "ims_certified": therapist.ims_certified,
        "ims_certification_expires": expires.isoformat() if expires else None,
    }


def _booking(appointment: Appointment | Visit, now: datetime, catalog: Catalog) -> answers.Booking:
    """The booking as the API shows it. After a change, `catalog` may be the snapshot the
    change itself was checked against (`latest()`): no need to ask for the version again."""
    clinic = catalog.clinic
    zone = clinic.zone
    return {
        "id": appointment.id,
        "reference": appointment.reference,
        "status": Status(appointment.status),
        "start": _local(appointment.start_at, zone),
        "end": _local(appointment.end_at, zone),
        "service": catalog.services[appointment.service_id].slug,
        "therapist_id": appointment.therapist_id,
        "can_change_online": booking.changeable_online(appointment, clinic, now),
        "change_deadline": _local(booking.change_deadline(appointment, clinic), zone),
    }
