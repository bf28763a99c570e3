"""Helpers for driving the patient site through Flask's test client, forms and CSRF included."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from html import unescape

from support import BORN

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
    """The details form as a patient booking for themselves fills it in."""
    return {
        "who": "me",
        "name": f"Pat Ient{n}",
        "date_of_birth": BORN.isoformat(),
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


def emailed_link(app, email: str) -> str:
    """Return the token of the newest one-time link written for `email` (as its email has)."""
    from sqlalchemy import select

    from booking.extensions import db
    from booking.models import AccessLink, Contact, email_key
    from booking.services import access

    with app.app_context():
        link = db.session.scalars(
            select(AccessLink)
            .join(Contact, Contact.id == AccessLink.contact_id)
            .where(Contact.email_key == email_key(email))
            .order_by(AccessLink.id.desc())
        ).first()
        assert link is not None, "no link was written for this address"
        return access.link_token(link)


def ask_for_link(client, email: str):
    """Send "Been here before?" for `email`, as a patient would."""
    page = client.get("/been-here-before").text
    return client.post("/been-here-before", data={"csrf_token": csrf(page), "email": email})


def open_link(client, token: str):
    """Open an emailed link and press its one button."""
    page = client.get(f"/my/{token}").text
    return client.post(f"/my/{token}", data={"csrf_token": csrf(page)})


def open_my_visits(client, app, email: str) -> str:
    """Verify `email` through its emailed link; return the My visits page."""
    assert ask_for_link(client, email).status_code == 303
    assert open_link(client, emailed_link(app, email)).status_code == 303
    response = client.get("/my")
    assert response.status_code == 200, response.headers.get("Location")
    return response.text


def book_for(client, page: str, name: str):
    """On My visits, press "Book a follow-up for <name>"."""
    form = page[: page.index(f"Book a follow-up for {name}</button>")]
    form = form[form.rindex("<form") :]
    person = re.search(r'name="person" value="(\d+)"', form).group(1)
    return client.post("/my/book-for", data={"csrf_token": csrf(page), "person": person})


def book_follow_up(client, app, start: datetime, *, n: int = 1, name: str | None = None, **kw):
    """Book a follow-up for patient `n` (on record) the way the site allows: from My visits."""
    page = open_my_visits(client, app, f"patient{n}@example.com")
    assert book_for(client, page, name or f"Pat Ient{n}").status_code == 303
    return book(client, "follow-up", start, n=n, **kw)
