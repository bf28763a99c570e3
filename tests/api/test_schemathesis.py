"""Schemathesis against the served openapi.json: the API keeps what its document promises.

For every operation of the document the test app serves, schemathesis generates requests
from the schemas, valid ones (positive) and ones that break a schema (negative), sends them to
the WSGI app directly (no network), and checks each answer: never a 5xx, a status code the
operation documents, a body that matches that status code's schema, the documented content
type; negative data refused; and, where a valid request has only documented outcomes that
are not refusals, valid data accepted.

Deterministic: examples are derived from the test's name (`derandomize`), with no example
database, so a run on CI sends what a run here sends.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
import schemathesis
from api_support import emailed_link, verify
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    positive_data_acceptance,
    response_schema_conformance,
    status_code_conformance,
)
from support import API_SCREENING, MONDAY, local, patient

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
]
# Where any valid request must succeed (or, for a token, be 404). Elsewhere a valid request
# may name a service, therapist or time that does not exist or is not free, a phone number
# that is not one, ...: refusals (422) the schema cannot foresee.
ACCEPTING = {"GET /services", "GET /bookings/{token}"}
# Operations with nothing a request could get wrong: no parameter with a constraint, no body.
NOTHING_TO_BREAK = {"GET /services", "GET /bookings/{token}"}
EXAMPLES = settings(
    max_examples=30,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)


@pytest.fixture
def clinic(app, world):
    # Hundreds of requests from one client address: over the booking limit otherwise.
    app.config["BOOKING_RATE_LIMIT"] = "100000 per minute"
    world.make_therapist("Maya Chen")
    world.make_therapist("Tom Berg", services=("physio",), ims=False)
    return world


def booked_token(client: Any) -> str:
    """A real booking's manage token, so that the token routes reach their service."""
    response = client.post(
        "/api/v1/bookings",
        json={
            "service": "assessment",
            "start": local(MONDAY + timedelta(days=8), 9).isoformat(),
            "patient": patient(),
            "screening": API_SCREENING,
        },
    )
    assert response.status_code == 201
    return str(response.get_json()["manage_token"])


def run(strategy: st.SearchStrategy[schemathesis.Case], checks: list[Any]) -> None:
    @EXAMPLES
    @given(case=strategy)
    def each(case: schemathesis.Case) -> None:
        case.call_and_validate(checks=checks)

    each()


@dataclass(frozen=True)
class Real:
    """Values that exist, for where a made-up one is simply not found."""

    manage_token: str
    access_token: str
    link: str


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_the_api_does_what_its_document_says(app, client, clinic, mode):
    manage_token = booked_token(client)
    access_token = verify(app, client)["access_token"]
    client.post("/api/v1/access-links", json={"email": patient()["email"]})
    real = Real(manage_token, access_token, emailed_link(app) or "")
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    # Every route but the document itself, which schemathesis leaves out.
    assert len(operations) == 10
    for operation in operations:
        if mode is GenerationMode.NEGATIVE and operation.label in NOTHING_TO_BREAK:
            continue
        checks = CHECKS + ([positive_data_acceptance] if operation.label in ACCEPTING else [])
        for fixed in variants(operation, real, mode):
            run(operation.as_strategy(generation_mode=mode, **fixed), checks)


def variants(
    operation: schemathesis.APIOperation, real: Real, mode: GenerationMode
) -> list[dict[str, Any]]:
    """Generated values only, then with real ones where a made-up one is simply not found,
    so that the other values reach the checks behind it."""
    found: list[dict[str, Any]] = [{}]
    if "{token}" in operation.path:
        found.append({"path_parameters": {"token": real.manage_token}})
    if operation.label == "GET /availability":
        found.append({"query": {"service": "physio"}})
    # GET /household has nothing but its token to break: fixed, no negative case is left.
    if operation.label == "POST /bookings" or (
        operation.label == "GET /household" and mode is GenerationMode.POSITIVE
    ):
        found.append({"headers": {"Authorization": f"Bearer {real.access_token}"}})
    if operation.label == "POST /access-tokens" and mode is GenerationMode.POSITIVE:
        found.append({"body": {"token": real.link}})  # redeemed once, then 410
    return found
