"""Booking rules at their boundaries, and the follow-ups that depend on an assessment."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from rawsql import raw_connection
from sqlalchemy import select
from support import ANSWERS, BORN, MONDAY, NOW, details, local, patient

from booking.extensions import db
from booking.models import Contact, Patient, Source
from booking.services import booking
from booking.services.booking import BookingRequest, PatientDetails
from booking.services.errors import (
    AssessmentRequired,
    BookingError,
    InsideCutoff,
    NotChangeable,
)

TUESDAY = MONDAY + timedelta(days=1)


def post(client, service, start, *, therapist_id=None, n=1):
    """Book as a patient would: a first visit as typed, a follow-up as the verified person."""
    request = BookingRequest(
        service, start, details(n), therapist_id=therapist_id,
        screening=dict(ANSWERS) if service == "assessment" else None,
    )  # fmt: skip
    with client.application.app_context():
        if service == "follow-up":
            on_record = db.session.scalars(
                select(Patient).join(Contact).where(Contact.email_key == patient(n)["email"])
            ).first()
            if on_record is not None:  # else: nobody to verify, the rule answers first
                request = replace(
                    request, patient=None, person_id=on_record.id, contact_id=on_record.contact_id
                )
            else:
                request = replace(request, source=Source.STAFF)
        try:
            booked = booking.book(request, now=NOW)
        except BookingError as exc:
            return {"error": {"code": exc.code, "message": exc.message}}
        return {"manage_token": booked.manage_token}


@pytest.fixture
def two_therapists(world):
    world.first = world.make_therapist("Maya Chen")
    world.second = world.make_therapist("Daniel Okafor")
    return world


def test_moving_an_assessment_past_its_follow_up_is_refused(client, two_therapists):
    assessment = post(client, "assessment", local(TUESDAY, 9))["manage_token"]
    post(client, "follow-up", local(TUESDAY + timedelta(days=7), 9))
    later = local(TUESDAY + timedelta(days=9), 9)  # past it, and the needling spacing holds
    response = client.post(
        f"/api/v1/bookings/{assessment}/reschedule", json={"start": later.isoformat()}
    )
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "not_changeable"
    earlier = local(TUESDAY, 13)
    moved = client.post(
        f"/api/v1/bookings/{assessment}/reschedule", json={"start": earlier.isoformat()}
    )
    assert moved.status_code == 200
    cancelled = client.post(f"/api/v1/bookings/{assessment}/cancel", json={})
    assert cancelled.status_code == 409
    assert "604-555-0100" in cancelled.get_json()["error"]["message"]


def test_another_earlier_assessment_keeps_the_follow_up_anchored(client, two_therapists):
    first = post(client, "assessment", local(TUESDAY, 9))["manage_token"]
    post(client, "assessment", local(TUESDAY, 13))
    post(client, "follow-up", local(TUESDAY + timedelta(days=7), 9))
    assert client.post(f"/api/v1/bookings/{first}/cancel", json={}).status_code == 200


def test_a_follow_up_cannot_move_before_its_assessment(client, two_therapists):
    post(client, "assessment", local(TUESDAY + timedelta(days=2), 9))
    follow_up = post(client, "follow-up", local(TUESDAY + timedelta(days=9), 9))
    token = follow_up["manage_token"]
    response = client.post(
        f"/api/v1/bookings/{token}/reschedule", json={"start": local(TUESDAY, 9).isoformat()}
    )
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "assessment_required"


def test_a_follow_up_at_the_assessments_own_start_is_refused(client, two_therapists):
    post(client, "assessment", local(TUESDAY, 9), therapist_id=two_therapists.first)
    response = post(client, "follow-up", local(TUESDAY, 9), therapist_id=two_therapists.second)
    assert response["error"]["code"] == "assessment_required"


def test_a_no_show_assessment_does_not_count(client, two_therapists, database_url):
    post(client, "assessment", local(TUESDAY, 9))
    with raw_connection(database_url) as conn:
        conn.execute("UPDATE appointment SET status = 'no_show'")
    response = post(client, "follow-up", local(TUESDAY + timedelta(days=7), 9))
    assert response["error"]["code"] == "assessment_required"


def test_a_taken_time_answers_the_same_whoever_asks(client, two_therapists):
    """The follow-up rule is only consulted for a time that is free: no probing by email."""
    post(client, "assessment", local(TUESDAY, 9), n=1)
    for service in ("follow-up", "assessment"):
        response = post(client, service, local(TUESDAY, 3), n=2)  # 03:00: nobody works
        assert response["error"]["code"] == "slot_unavailable"


@pytest.mark.parametrize(
    ("minutes_before", "allowed"),
    [(24 * 60 + 1, True), (24 * 60, True), (24 * 60 - 1, False)],
)
def test_the_cutoff_boundary(ctx, clock, two_therapists, minutes_before, allowed):
    start = local(TUESDAY + timedelta(days=2), 9)
    booked = booking.book(
        BookingRequest(
            "physio",
            start,
            PatientDetails("A B", "ab@example.com", "604-555-0101", BORN),
        ),
        now=NOW,
    )
    now = start - timedelta(minutes=minutes_before)
    if allowed:
        booking.cancel(booked.appointment.id, now=now)
    else:
        with pytest.raises(InsideCutoff):
            booking.cancel(booked.appointment.id, now=now)


def test_a_write_reads_afresh_what_another_process_changed(ctx, two_therapists, database_url):
    start = local(TUESDAY, 9)
    booked = booking.book(
        BookingRequest(
            "physio",
            start,
            PatientDetails("A B", "ab@example.com", "604-555-0101", BORN),
        ),
        now=NOW,
    )
    with raw_connection(database_url) as conn:  # another process cancels it
        conn.execute("UPDATE appointment SET status = 'cancelled'")
    with pytest.raises(NotChangeable):
        booking.reschedule(booked.appointment.id, local(TUESDAY, 13), now=NOW)


def test_the_follow_up_rule_is_a_domain_error(ctx, two_therapists):
    with pytest.raises(AssessmentRequired):
        booking.book(
            BookingRequest(
                "follow-up",
                local(TUESDAY, 9),
                PatientDetails("A", "new@example.com", "604", BORN),
                source=Source.STAFF,  # online, no follow-up is booked unverified (test_people)
            ),
            now=NOW,
        )
