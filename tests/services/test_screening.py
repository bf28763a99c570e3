"""The IMS safety screening is the booking service's rule: no path needles without it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import func, select
from support import ANSWERS, API_SCREENING, BORN, MONDAY, NOW, local, patient

from booking.extensions import db
from booking.models import Appointment, AuditEvent, Consent, Screening, Source
from booking.services import booking
from booking.services.booking import BookingRequest, PatientDetails
from booking.services.errors import InvalidRequest

TUESDAY = MONDAY + timedelta(days=1)


@pytest.fixture
def maya(world):
    return world.make_therapist("Maya Chen")


def count(model=Appointment) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def api_booking(client, service="assessment", **extra):
    body = {"service": service, "start": local(TUESDAY, 9).isoformat(), "patient": patient()}
    return client.post("/api/v1/bookings", json=body | extra)


BAD_SCREENINGS = [
    (None, {"screening"}),  # left out: refused by the booking service itself
    ("yes", {"screening"}),
    ({**API_SCREENING, "pregnant": "no"}, {"screening.pregnant"}),
    ({k: v for k, v in API_SCREENING.items() if k != "implant"}, {"screening.implant"}),
    ({**API_SCREENING, "consent": False}, {"screening.consent"}),
    ({**ANSWERS}, {"screening.consent"}),
    ({**API_SCREENING, "diagnosis": "x"}, {"screening.diagnosis"}),
]


@pytest.mark.parametrize(("screening", "fields"), BAD_SCREENINGS)
def test_the_api_refuses_an_assessment_without_a_whole_screening(
    app, client, maya, screening, fields
):
    extra = {} if screening is None else {"screening": screening}
    response = api_booking(client, **extra)
    assert response.status_code == 422
    assert set(response.get_json()["error"]["fields"]) == fields
    with app.app_context():
        assert count() == count(Screening) == 0


def test_the_api_books_an_assessment_with_its_screening_and_consent(app, client, maya):
    response = api_booking(client, screening={**API_SCREENING, "needle_phobia": True})
    assert response.status_code == 201
    with app.app_context():
        screening = db.session.get(Screening, response.get_json()["id"])
        assert screening.consent == Consent.ONLINE and screening.recorded_by == "patient"
        assert screening.needle_phobia is True and screening.pregnant is False
        assert screening.consented_at == NOW and screening.needs_review
        booked = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "booked"))
        assert booked.after["screening"] == "online" and "needle_phobia" not in str(booked.after)


def test_the_api_collects_no_screening_for_a_visit_that_needs_none(app, client, maya):
    response = api_booking(client, service="physio", screening=API_SCREENING)
    assert response.status_code == 422
    assert set(response.get_json()["error"]["fields"]) == {"screening"}


def test_openapi_documents_the_screening_with_its_questions(client):
    schemas = client.get("/api/v1/openapi.json").get_json()["components"]["schemas"]
    screening = schemas["Screening"]
    assert set(screening["required"]) == {*ANSWERS, "consent"}
    assert schemas["BookingRequest"]["properties"]["screening"] == {
        "$ref": "#/components/schemas/Screening"
    }


def request(**extra):
    return BookingRequest(
        "assessment", local(TUESDAY, 9), PatientDetails("A B", "ab@example.com", "604-555-0101",
                                         BORN),
        **extra,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("extra", "allowed"),
    [
        ({}, False),  # no screening at all, whoever books
        ({"source": Source.STAFF}, False),
        ({"screening_pending": True}, False),  # only staff may leave it open
        ({"screening": ANSWERS, "screening_consent": Consent.VERBAL}, False),  # staff only
        ({"screening": {**ANSWERS, "pregnant": None}}, False),
        ({"screening": ANSWERS}, True),
        ({"screening": ANSWERS, "screening_consent": Consent.VERBAL, "source": Source.STAFF}, True),
        ({"screening_pending": True, "source": Source.STAFF}, True),
        ({"screening_pending": True, "source": Source.STAFF, "screening": ANSWERS}, False),
    ],
)
def test_every_path_through_the_service_needs_the_screening(ctx, maya, extra, allowed):
    if not allowed:
        with pytest.raises(InvalidRequest) as refused:
            booking.book(request(**extra), now=NOW, actor="staff:1")
        assert set(refused.value.fields) == {"screening"}
        assert count() == 0
        return
    booked = booking.book(request(**extra), now=NOW, actor="staff:1")
    screening = db.session.get(Screening, booked.appointment.id)
    assert screening.recorded_by == "staff:1"
    assert screening.pending == bool(extra.get("screening_pending"))


def test_existing_screenings_are_kept_as_consented_online_by_the_migration(ctx, maya):
    booked = booking.book(request(screening={**ANSWERS, "implant": True}), now=NOW)
    db.session.remove()
    downgrade(revision="-1")  # to before 0008, as an old database
    try:
        upgrade()
    finally:
        upgrade()  # whatever happened, later tests get the whole schema
    screening = db.session.get(Screening, booked.appointment.id)
    assert (screening.consent, screening.recorded_by, screening.implant) == (
        "online",
        "patient",
        True,
    )
    assert screening.consented_at == NOW and screening.reviewed_at is None
