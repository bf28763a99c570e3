"""Reception may book inside the minimum notice, or a follow-up without an assessment on
record, only with a recorded reason; patients never can."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from support import BORN, MONDAY, local

from booking.extensions import db
from booking.models import AuditEvent, Source
from booking.services import booking
from booking.services.booking import BookingRequest, PatientDetails
from booking.services.errors import AssessmentRequired, InvalidRequest, SlotUnavailable

SOON = local(MONDAY, 10)  # two hours after "now": inside the 12-hour notice


@pytest.fixture
def maya(world):
    return world.make_therapist("Maya Chen")


def request(start, service="physio", **extra):
    return BookingRequest(
        service=service,
        start=start,
        patient=PatientDetails("Pat Ient", "pat@example.com", "604-555-0199", BORN),
        **extra,
    )


def book(app, wanted, actor="staff:1"):
    with app.app_context():
        return booking.book(wanted, now=app.config["CLOCK"](), actor=actor).appointment.id


def test_reception_books_inside_the_notice_with_a_reason(app, maya):
    with pytest.raises(SlotUnavailable):
        book(app, request(SOON, source=Source.STAFF))
    appointment = book(
        app,
        request(SOON, source=Source.STAFF, skip_notice=True, override_reason="In pain, today"),
    )
    with app.app_context():
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "rule_overridden"))
    assert event.entity_id == appointment and event.actor == "staff:1"
    assert event.after == {
        "minimum_notice": True,
        "assessment_first": False,
        "needling_spacing": False,
        "reassessment": False,
        "reason": "In pain, today",
    }


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"source": Source.STAFF, "skip_notice": True}, "override_reason"),
        ({"source": Source.STAFF, "skip_notice": True, "override_reason": "x" * 201},
         "override_reason"),
        ({"source": Source.ONLINE, "skip_notice": True, "override_reason": "please"}, "override"),
        ({"source": Source.ONLINE, "skip_prerequisite": True, "override_reason": "please"},
         "override"),
    ],
)  # fmt: skip
def test_no_override_without_staff_and_a_reason(app, maya, extra, field):
    with pytest.raises(InvalidRequest) as refused:
        book(app, request(SOON, **extra))
    assert field in refused.value.details["fields"]


def test_the_notice_override_never_books_the_past(app, maya):
    with pytest.raises(SlotUnavailable):
        book(
            app,
            request(local(MONDAY, 7), source=Source.STAFF, skip_notice=True, override_reason="x"),
        )


def test_a_follow_up_without_an_assessment_with_a_reason(app, maya):
    later = local(MONDAY + timedelta(days=2), 9)
    with pytest.raises(AssessmentRequired):
        book(app, request(later, service="follow-up", source=Source.STAFF))
    book(
        app,
        request(
            later,
            service="follow-up",
            source=Source.STAFF,
            skip_prerequisite=True,
            override_reason="Assessed at our other clinic",
        ),
    )
