"""Helpers for driving the patient site through Flask's test client, forms and CSRF included."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from html import unescape

from booking.models import QUESTIONS

CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def csrf(html: str) -> str:
    match = CSRF.search(html)
    assert match, "the page has no CSRF token"
    return match.group(1)


def slot_param(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y%m%dT%H%MZ")


def links(html: str, prefix: str) -> list[str]:
    """Return the hrefs on the page that start with `prefix`, unescaped."""
    return [unescape(h) for h in re.findall(r'href="([^"]+)"', html) if h.startswith(prefix)]


def screening(**yes: bool) -> dict[str, str]:
    answers = {key: "no" for key, _ in QUESTIONS}
    answers.update({key: "yes" for key, value in yes.items() if value})
    return answers


def details(n: int = 1, **extra: str) -> dict[str, str]:
    return {
        "name": f"Pat Ient{n}",
        "email": f"patient{n}@example.com",
        "phone": "604-555-0199",
        "note": "",
        **extra,
    }


def book(
    client,
    service: str,
    start: datetime,
    *,
    therapist: str = "any",
    n: int = 1,
    answers: dict[str, str] | None = None,
    **fields: str,
):
    """GET the details page for a slot, then POST the form as a patient would."""
    url = f"/book/{service}/details?therapist={therapist}&start={slot_param(start)}"
    page = client.get(url)
    data = {"csrf_token": csrf(page.text), "therapist": therapist, "start": slot_param(start)}
    data |= details(n)
    if service == "assessment":
        data |= (answers if answers is not None else screening()) | {"consent": "y"}
    data |= fields
    return client.post(f"/book/{service}/details", data=data)


def token_of(response) -> str:
    """Return the manage token a successful booking POST redirected to."""
    assert response.status_code == 303, response.text[:500]
    match = re.fullmatch(r"/manage/([A-Za-z0-9_-]{43})/confirmed", response.headers["Location"])
    assert match
    return match.group(1)
