"""The re-assessment rule on the site: a verified person due one is refused a follow-up with
the rule's words and a one-click switch to the re-assessment, everything typed kept."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from pages import book, book_follow_up, slot_param, token_of
from sqlalchemy import select
from support import MONDAY, local

from booking.extensions import db
from booking.models import Appointment, Service, Status

TUESDAY = MONDAY + timedelta(days=1)
LATER = TUESDAY + timedelta(weeks=9)  # more than 8 weeks after the assessment


@pytest.fixture
def clinic(app, world):
    with app.app_context():
        again = Service(slug="reassessment", name="IMS re-assessment", duration_minutes=45,
                        requires_ims=True, prerequisite_id=world.services["assessment"].id,
                        reassessment=True)  # fmt: skip
        db.session.add(again)
        db.session.commit()
        db.session.refresh(again)
        db.session.expunge_all()
    world.services["reassessment"] = again
    services = ("assessment", "follow-up", "physio", "reassessment")
    world.maya = world.make_therapist("Maya Chen", services=services)
    return world


def assessed_long_ago(app, client) -> None:
    token_of(book(client, "assessment", local(TUESDAY, 9)))
    with app.app_context():
        db.session.scalars(select(Appointment)).one().status = Status.COMPLETED.value
        db.session.commit()


def test_the_site_switches_a_follow_up_to_the_re_assessment(app, client, clinic):
    assessed_long_ago(app, client)
    refused = book_follow_up(client, app, local(LATER, 9), therapist=str(clinic.maya))
    assert refused.status_code == 200
    assert "Time for a re-assessment" in refused.text
    assert "more than 8 weeks since the last visit" in refused.text
    switch = re.search(
        r'<form method="post" action="/book/reassessment/details">(.*?)</form>', refused.text, re.S
    )
    assert switch and "Book an IMS re-assessment instead" in switch.group(1)
    fields = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', switch.group(1)))
    assert fields["start"] == slot_param(local(LATER, 9))
    assert fields["therapist"] == str(clinic.maya)  # the same therapist, who offers it
    switched = client.post("/book/reassessment/details", data=fields)
    assert switched.status_code == 200 and "You are now booking" in switched.text
    data = dict(re.findall(r'name="(csrf_token|booking_key|therapist|start)"[^>]*value="([^"]*)"',
                           switched.text))  # fmt: skip
    assert token_of(client.post("/book/reassessment/details", data=data))
