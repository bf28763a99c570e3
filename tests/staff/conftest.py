"""Fixtures for the staff workspace: a clinic with one account per role, and signing in."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest

from booking.models import Role
from booking.services import accounts

PASSWORD = "correct horse battery"


@dataclass
class Staff:
    admin: str = "admin@clinic.example"
    reception: str = "desk@clinic.example"
    maya: str = "maya@clinic.example"  # a therapist account
    daniel: str = "daniel@clinic.example"


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    assert match, "no CSRF token on the page"
    return match.group(1)


def sign_in(client, email: str, password: str = PASSWORD):
    page = client.get("/staff/login")
    return client.post(
        "/staff/login",
        data={"csrf_token": csrf_of(page.text), "email": email, "password": password},
    )


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
