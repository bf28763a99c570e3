"""Site-wide promises: strict headers, no inline script, small self-contained pages."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from pages import ask_for_link, book, book_for, emailed_link, open_my_visits, token_of
from support import MONDAY, local

from booking.config import from_environment
from booking.security import CONTENT_SECURITY_POLICY

TUESDAY = MONDAY + timedelta(days=1)
PAGE_BUDGET = 100 * 1024


@pytest.fixture
def pages(app, client, world):
    therapist = world.make_therapist("Maya Chen")
    token = token_of(book(client, "assessment", local(TUESDAY, 9)))
    open_my_visits(client, app, "patient1@example.com")  # a verified session: My visits opens
    book_for(client, client.get("/my").text, "Pat Ient1")
    ask_for_link(app.test_client(), "patient1@example.com")  # a fresh link, for its page
    return [
        "/",
        "/book",
        "/book/assessment",
        "/book/assessment/times?therapist=any",
        f"/book/assessment/times?therapist={therapist}&week=2027-03-08",
        "/book/assessment/details?therapist=any&start=20270303T1700Z",
        f"/manage/{token}/confirmed",
        f"/manage/{token}",
        f"/manage/{token}/reschedule",
        f"/manage/{token}/reschedule/confirm?start=20270303T1700Z",
        f"/manage/{token}/cancel",
        "/been-here-before",
        "/been-here-before/sent",
        f"/my/{emailed_link(app, 'patient1@example.com')}",
        "/my",
        "/book/follow-up/details?therapist=any&start=20270309T1700Z",  # for the fixed person
        "/no-such-page",
    ]


def test_every_page_is_strict_small_and_self_contained(client, pages):
    for url in pages:
        response = client.get(url)
        html = response.text
        assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY, url
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["Referrer-Policy"] == "same-origin"
        assert len(response.data) < PAGE_BUDGET, url
        assert not re.search(r"<script(?![^>]*\bsrc=)", html), f"inline script on {url}"
        assert not re.search(r"\sstyle=|\son\w+=", html), f"inline style or handler on {url}"
        for asset in re.findall(r'<(?:script|img|link)[^>]*(?:src|href)="([^"]+)"', html):
            assert asset.startswith("/static/"), f"{url} loads {asset}"
        assert '<html lang="en">' in html and '<a class="skip" href="#main">' in html


def test_the_policy_allows_only_the_site_itself():
    assert "'unsafe-inline'" not in CONTENT_SECURITY_POLICY
    assert "default-src 'none'" in CONTENT_SECURITY_POLICY
    assert "frame-ancestors 'none'" in CONTENT_SECURITY_POLICY


def test_static_assets_are_small_and_cached_by_content(client, world):
    page = client.get("/").text
    assets = re.findall(r'(?:src|href)="(/static/[^"]+\?v=[0-9a-f]{12})"', page)
    assert len(assets) == 3  # stylesheet, icon, script
    sizes = []
    for path in assets:
        with client.get(path) as response:
            assert response.status_code == 200
            assert "max-age=31536000" in response.headers["Cache-Control"]
            sizes.append(len(response.data))
    assert sum(sizes) < 20 * 1024


def test_the_session_cookie_is_httponly_and_samesite(client, world):
    world.make_therapist()
    response = client.get("/book/physio/details?therapist=any&start=20270303T1700Z")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


@pytest.mark.parametrize(
    ("env", "secure"),
    [
        ({}, True),
        ({"FLASK_DEBUG": "1"}, False),
        ({"SESSION_COOKIE_SECURE": "false"}, False),
        ({"FLASK_DEBUG": "1", "SESSION_COOKIE_SECURE": "true"}, True),
    ],
)
def test_cookies_are_secure_outside_local_development(env, secure):
    assert from_environment("/tmp", env)["SESSION_COOKIE_SECURE"] is secure


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_an_oversized_request_is_refused_as_such_before_anything_else(client):
    # No CSRF token and no such route: the size is what the answer is about.
    response = client.post("/book/x?pad=" + "x" * 5000, data={})
    assert response.status_code == 414
    assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    response = client.post("/api/v1/bookings", json={}, headers={"X-Padding": "x" * 9000})
    assert response.status_code == 431
    assert response.get_json()["error"]["code"] == "request_header_fields_too_large"
