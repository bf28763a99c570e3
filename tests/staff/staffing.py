"""Helpers for the staff workspace tests: the accounts' password, CSRF and signing in."""

from __future__ import annotations

import re
from dataclasses import dataclass

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
