"""The whole authorization matrix: every staff route, for every kind of visitor.

`maya` is a therapist account linked to Maya; "own" means Maya's, "other" Daniel's. A cell is
the status a request gets: 200 (or 302 after a change), 403, or 302 to the sign-in page for
someone signed out. POSTs carry a valid CSRF token, so 403 means "not allowed", not "bad form".
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from staffing import account_id, csrf_of, sign_in
from support import MONDAY, local
from test_workspace import book

TUESDAY = MONDAY + timedelta(days=1)
OK, DENY, LOGIN = "ok", 403, "login"

# (method, route, {role: expected}); routes use {own}, {other}, {own_visit}, {other_visit}.
ROUTES = [
    ("GET", "/staff/", dict(admin=OK, reception=OK, maya=OK)),
    ("GET", "/staff/day", dict(admin=OK, reception=OK, maya=OK)),
    ("GET", "/staff/needs-moving", dict(admin=OK, reception=OK, maya=OK)),
    ("GET", "/staff/therapists/{own}/week", dict(admin=OK, reception=OK, maya=OK)),
    ("GET", "/staff/therapists/{other}/week", dict(admin=OK, reception=OK, maya=DENY)),
    ("GET", "/staff/therapists/{own}/hours", dict(admin=OK, reception=OK, maya=OK)),
    ("GET", "/staff/therapists/{other}/hours", dict(admin=OK, reception=OK, maya=DENY)),
    ("POST", "/staff/therapists/{other}/hours", dict(admin=OK, reception=OK, maya=DENY)),
    ("GET", "/staff/therapists/{own}/time-off", dict(admin=OK, reception=OK, maya=OK)),
    ("GET", "/staff/therapists/{other}/time-off", dict(admin=OK, reception=OK, maya=DENY)),
    ("POST", "/staff/therapists/{other}/time-off", dict(admin=OK, reception=OK, maya=DENY)),
    ("GET", "/staff/therapists/{own}/calendar-feed", dict(admin=OK, reception=OK, maya=OK)),
    ("GET", "/staff/therapists/{other}/calendar-feed", dict(admin=OK, reception=OK, maya=DENY)),
    ("POST", "/staff/therapists/{other}/calendar-feed", dict(admin=OK, reception=OK, maya=DENY)),
    ("GET", "/staff/therapists/{own}/move-day", dict(admin=OK, reception=OK, maya=DENY)),
    ("GET", "/staff/appointments/{own_visit}", dict(admin=OK, reception=OK, maya=OK)),
    ("GET", "/staff/appointments/{other_visit}", dict(admin=OK, reception=OK, maya=DENY)),
    ("GET", "/staff/appointments/{own_visit}/move", dict(admin=OK, reception=OK, maya=DENY)),
    ("GET", "/staff/appointments/{own_visit}/move/confirm?start=20270302T1800Z&sequence=0",
     dict(admin=OK, reception=OK, maya=DENY)),
    ("GET", "/staff/appointments/{own_visit}/cancel", dict(admin=OK, reception=OK, maya=DENY)),
    ("POST", "/staff/appointments/{own_visit}/mark/arrived",
     dict(admin=OK, reception=OK, maya=DENY)),
    ("POST", "/staff/appointments/{own_visit}/screening/reviewed",
     dict(admin=OK, reception=DENY, maya=OK)),
    ("POST", "/staff/appointments/{other_visit}/screening/reviewed",
     dict(admin=OK, reception=DENY, maya=DENY)),
    ("GET", "/staff/book", dict(admin=OK, reception=OK, maya=DENY)),
    ("GET", "/staff/patients?q=Pat", dict(admin=OK, reception=OK, maya=DENY)),
    ("GET", "/staff/admin", dict(admin=OK, reception=DENY, maya=DENY)),
    ("GET", "/staff/admin/settings", dict(admin=OK, reception=DENY, maya=DENY)),
    ("POST", "/staff/admin/settings", dict(admin=OK, reception=DENY, maya=DENY)),
    ("GET", "/staff/admin/closures", dict(admin=OK, reception=DENY, maya=DENY)),
    ("GET", "/staff/admin/therapists/{own}", dict(admin=OK, reception=DENY, maya=DENY)),
    ("POST", "/staff/admin/therapists/{own}", dict(admin=OK, reception=DENY, maya=DENY)),
    ("GET", "/staff/admin/services/new", dict(admin=OK, reception=DENY, maya=DENY)),
    ("GET", "/staff/admin/accounts/new", dict(admin=OK, reception=DENY, maya=DENY)),
    ("GET", "/staff/admin/accounts/{desk_account}/password",
     dict(admin=OK, reception=DENY, maya=DENY)),
    ("POST", "/staff/admin/accounts/{desk_account}/password",
     dict(admin=OK, reception=DENY, maya=DENY)),
    ("GET", "/staff/password", dict(admin=OK, reception=OK, maya=OK)),
]  # fmt: skip


@pytest.fixture
def places(app, world, staff, clock):
    clock.now = local(TUESDAY, 8, 30)  # arrivals for 09:00 can be marked
    return {
        "own": world.maya,
        "other": world.daniel,
        "own_visit": book_at(app, clock, world.maya, 1),
        "other_visit": book_at(app, clock, world.daniel, 2),
        "desk_account": account_id(app, staff.reception),
    }


def book_at(app, clock, therapist, n):
    saved, clock.now = clock.now, local(MONDAY, 8)
    try:
        return book(app, local(TUESDAY, 9), therapist, n=n)
    finally:
        clock.now = saved


def status_of(response) -> object:
    if response.status_code == 302 and "/staff/login" in response.headers["Location"]:
        return LOGIN
    if response.status_code in (200, 302, 422):  # 422: allowed, the empty form was refused
        return OK
    return response.status_code


@pytest.mark.parametrize("role", ["anonymous", "maya", "reception", "admin"])
def test_the_authorization_matrix(client, staff, places, role):
    if role != "anonymous":
        sign_in(client, getattr(staff, role))
    token = csrf_of(client.get("/staff/login" if role == "anonymous" else "/staff/password").text)
    wrong = []
    for method, route, expected in ROUTES:
        url = route.format(**places)
        if method == "GET":
            response = client.get(url)
        else:
            response = client.post(url, data={"csrf_token": token, "sequence": "0"})
        want = LOGIN if role == "anonymous" else expected[role]
        if status_of(response) != want:
            wrong.append(f"{method} {url}: {status_of(response)}, expected {want}")
    assert not wrong, "\n".join(wrong)
