"""Helpers for the staff workspace tests: the accounts' password, CSRF and signing in."""

from __future__ import annotations

from dataclasses import dataclass

from pages import csrf as csrf_of
from sqlalchemy import select

from booking.extensions import db
from booking.models import StaffUser

PASSWORD = "correct horse battery"


@dataclass
class Staff:
    admin: str = "admin@clinic.example"
    reception: str = "desk@clinic.example"
    maya: str = "maya@clinic.example"  # a therapist account
    daniel: str = "daniel@clinic.example"


def sign_in(client, email: str, password: str = PASSWORD):
    page = client.get("/staff/login")
    return client.post(
        "/staff/login",
        data={"csrf_token": csrf_of(page.text), "email": email, "password": password},
    )


def account_id(app, email: str) -> int:
    """The id of the staff account with this email."""
    with app.app_context():
        return db.session.scalar(select(StaffUser.id).where(StaffUser.email == email))
