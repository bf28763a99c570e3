"""Fixtures for the staff workspace: a clinic with one account per role."""

from __future__ import annotations

import pytest
from staffing import PASSWORD, Staff

from booking.models import Role
from booking.services import accounts


@pytest.fixture
def staff(world, app, clock) -> Staff:
    world.maya = world.make_therapist("Maya Chen", email="maya@clinic.example")
    world.daniel = world.make_therapist("Daniel Okafor", email="daniel@clinic.example")
    people = Staff()
    with app.app_context():
        for email, name, role, therapist in (
            (people.admin, "Alex Admin", Role.ADMIN, None),
            (people.reception, "Rita Desk", Role.RECEPTION, None),
            (people.maya, "Maya Chen", Role.THERAPIST, world.maya),
            (people.daniel, "Daniel Okafor", Role.THERAPIST, world.daniel),
        ):
            accounts.create_user(
                email=email,
                name=name,
                password=PASSWORD,
                role=role,
                therapist_id=therapist,
                actor="test",
                now=clock.now,
            )
    app.config["SESSION_COOKIE_SECURE"] = False  # the test client speaks plain http
    return people
