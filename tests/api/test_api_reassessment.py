"""The re-assessment rule through the API: a verified person due one is refused a follow-up
with 409 `reassessment_required`, naming the re-assessment's slug."""

from __future__ import annotations

from datetime import timedelta

import pytest
from api_support import TUESDAY, post_booking, verify
from sqlalchemy import select
from support import local

from booking.extensions import db
from booking.models import Appointment, Service, Status

LATER = TUESDAY + timedelta(weeks=9)  # more than 8 weeks (the default) after the assessment


@pytest.fixture
def reassessing(app, world):
    with app.app_context():
        db.session.add(Service(slug="reassessment", name="IMS re-assessment",
                               duration_minutes=45, requires_ims=True, reassessment=True,
                               prerequisite_id=world.services["assessment"].id))  # fmt: skip
        db.session.commit()
        world.services["reassessment"] = db.session.scalar(
            select(Service).where(Service.slug == "reassessment")
        )
        db.session.expunge_all()
    services = ("assessment", "follow-up", "physio", "reassessment")
    world.maya = world.make_therapist("Maya Chen", services=services)
    return world


def test_the_api_answers_409_reassessment_required(app, client, reassessing):
    assert post_booking(client, start=local(TUESDAY, 9)).status_code == 201
    with app.app_context():
        db.session.scalars(select(Appointment)).one().status = Status.COMPLETED.value
        db.session.commit()
    token = verify(app, client)["access_token"]
    with app.app_context():
        person = db.session.scalar(select(Appointment.patient_id))
    response = post_booking(
        client, start=local(LATER, 9), service="follow-up", person_id=person, token=token
    )
    assert response.status_code == 409
    error = response.get_json()["error"]
    assert error["code"] == "reassessment_required"
    assert error["required_service"] == "reassessment"
    again = post_booking(
        client, start=local(LATER, 9), service="reassessment", person_id=person, token=token
    )
    assert again.status_code == 201
