"""Returning patients through the API: an emailed one-time link, then a patient access token.

`POST /access-links` answers every address alike; the link's token, sent to
`POST /access-tokens`, yields a short-lived bearer token for the household it verified, which
`POST /bookings` takes to book a follow-up for one of its people (`person_id`) and
`GET /household` takes to list them and their coming visits.
"""

from __future__ import annotations

from datetime import datetime

from flask import Response, jsonify, request

from booking import clock, ratelimit
from booking.api import answers, bp, schemas
from booking.api.bodies import json_body
from booking.api.schemas import parse
from booking.models import Status
from booking.services import access
from booking.services.access import Household, PersonInfo
from booking.services.catalog import Catalog, current
from booking.services.errors import BookingError

# Asking for a link and redeeming one share a count per client address, of the booking's
# size (BOOKING_RATE_LIMIT), apart from it: asking for a link is no way around booking's.
ACCESS = "access-links"
access_limit = ratelimit.limit(setting="BOOKING_RATE_LIMIT", scope=ACCESS)
REALM = 'Bearer realm="booking"'


class TokenInvalid(BookingError):
    """A patient access token that is missing, malformed, forged or expired: 401."""

    code = "invalid_token"

    def __init__(self) -> None:
        super().__init__(
            "This access token is not valid or has expired. Ask for a new link"
            " (POST /access-links): it takes a minute."
        )


def bearer_contact(now: datetime) -> int | None:
    """The contact the request's bearer token verified, None without `Authorization`;
    raises `TokenInvalid` for one that does not verify a contact now."""
    if "Authorization" not in request.headers:
        return None
    return verified_contact(now)


def verified_contact(now: datetime) -> int:
    """The contact the request's bearer token verified; else raise `TokenInvalid`."""
    scheme, _, token = request.headers.get("Authorization", "").strip().partition(" ")
    contact_id = None
    if scheme.lower() == "bearer" and token.strip():
        contact_id = access.contact_of_api_token(token.strip(), now=now)
    if contact_id is None:
        raise TokenInvalid()
    return contact_id


def www_authenticate(response: Response) -> Response:
    """What a 401 says about how to authorize (RFC 6750)."""
    response.headers["WWW-Authenticate"] = f'{REALM}, error="invalid_token"'
    return response


@bp.post("/access-links")
@access_limit
def request_access_link() -> tuple[Response, int]:
    asked = parse(schemas.AccessLinkRequest, json_body())
    access.request_link(asked.email, now=clock.now())
    # The same status, headers and body whether or not the address is on record.
    body: answers.AccessLinkAnswer = {"message": access.ANSWER}
    return jsonify(body), 202


@bp.post("/access-tokens")
@access_limit
def redeem_access_link() -> tuple[Response, int]:
    asked = parse(schemas.AccessTokenRequest, json_body())
    now = clock.now()
    contact_id = access.redeem(asked.token, now=now)  # raises LinkInvalid
    found = access.household(contact_id, now=now)
    if found is None:  # the contact was merged away since the link was sent
        raise access.LinkInvalid()
    token, expires = access.api_token(contact_id, now=now)
    zone = current().clinic.zone
    body: answers.AccessToken = {
        "access_token": token,
        "token_type": "Bearer",
        "expires_at": expires.astimezone(zone).isoformat(),
        "expires_in": int((expires - now).total_seconds()),
        "people": [_person(p) for p in found.people],
    }
    return jsonify(body), 201


@bp.get("/household")
def show_household() -> Response:
    now = clock.now()
    found = access.household(verified_contact(now), now=now)
    if found is None:
        raise TokenInvalid()
    return jsonify(_household(found, current()))


def _person(person: PersonInfo) -> answers.Person:
    born = person.date_of_birth
    return {
        "id": person.id,
        "name": person.name,
        "preferred_name": person.preferred_name,
        "date_of_birth": born.isoformat() if born else None,
    }


def _household(found: Household, catalog: Catalog) -> answers.Household:
    zone = catalog.clinic.zone
    return {
        "people": [_person(p) for p in found.people],
        "upcoming": [
            {
                "id": v.id,
                "person_id": v.person_id,
                "reference": v.reference,
                "status": Status(v.status),
                "start": v.start_at.astimezone(zone).isoformat(),
                "service": catalog.services[v.service_id].slug,
                "therapist_id": v.therapist_id,
                "manage_token": v.manage_token,
            }
            for v in found.upcoming
        ],
    }
