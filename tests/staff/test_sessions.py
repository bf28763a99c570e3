"""Staff sessions live on the server: signing out ends them, whoever kept a copy of the cookie."""

from __future__ import annotations

import hashlib
import logging
from datetime import timedelta

from sqlalchemy import event, select
from staffing import PASSWORD, account_id, csrf_of, sign_in
from support import MONDAY, local
from test_workspace import book

from booking.extensions import db
from booking.models import StaffSession

TUESDAY = MONDAY + timedelta(days=1)


def copy_cookie(client) -> str:
    return client.get_cookie("session").value


def replay(app, cookie: str):
    """A browser that holds nothing but a copy of someone's session cookie."""
    thief = app.test_client()
    thief.set_cookie("session", cookie)
    return thief


def sign_out(client):
    return client.post("/staff/logout", data={"csrf_token": csrf_of(client.get("/staff/day").text)})


def sessions(app) -> list[StaffSession]:
    with app.app_context():
        return list(db.session.scalars(select(StaffSession).order_by(StaffSession.id)))


def test_a_cookie_copied_before_signing_out_opens_nothing_after(app, client, staff):
    sign_in(client, staff.reception)
    cookie = copy_cookie(client)
    assert replay(app, cookie).get("/staff/day").status_code == 200  # the copy works, for now
    assert sign_out(client).status_code == 302
    for page in ("/staff/day", "/staff/patients", "/staff/password"):
        response = replay(app, cookie).get(page)
        assert response.status_code == 302, page
        assert response.headers["Location"].startswith("/staff/login?next="), page
    assert sessions(app) == []


def test_a_copied_cookie_cannot_sign_out_or_post_either(app, client, staff):
    sign_in(client, staff.reception)
    cookie = copy_cookie(client)
    day = client.get("/staff/day").text
    sign_out(client)
    thief = replay(app, cookie)
    response = thief.post("/staff/logout", data={"csrf_token": csrf_of(day)})
    assert response.status_code == 302 and response.headers["Location"].startswith("/staff/login")


def test_signing_out_ends_only_this_browsers_session(app, staff):
    desk, tablet = app.test_client(), app.test_client()
    sign_in(desk, staff.reception)
    sign_in(tablet, staff.reception)
    sign_out(desk)
    assert desk.get("/staff/day").status_code == 302
    assert tablet.get("/staff/day").status_code == 200
    assert len(sessions(app)) == 1


def test_a_password_change_ends_the_cookie_this_device_had_before(app, client, staff):
    sign_in(client, staff.reception)
    before = copy_cookie(client)
    page = client.get("/staff/password").text
    new = "a different long password"
    client.post(
        "/staff/password",
        data={"csrf_token": csrf_of(page), "current": PASSWORD, "new": new, "repeat": new},
    )
    assert client.get("/staff/day").status_code == 200  # with a new session of its own
    assert replay(app, before).get("/staff/day").status_code == 302
    assert len(sessions(app)) == 1


def test_switching_an_account_back_on_does_not_revive_its_sessions(app, client, staff):
    desk = app.test_client()
    sign_in(desk, staff.reception)
    cookie = copy_cookie(desk)
    sign_in(client, staff.admin)
    target = account_id(app, staff.reception)
    for what in ("disable", "enable"):
        token = csrf_of(client.get("/staff/admin").text)
        url = f"/staff/admin/accounts/{target}/{what}"
        assert client.post(url, data={"csrf_token": token}).status_code == 302
    assert replay(app, cookie).get("/staff/day").status_code == 302
    assert desk.get("/staff/day").status_code == 302
    assert sign_in(desk, staff.reception).status_code == 302  # on again: a new sign-in works


def test_the_database_keeps_only_a_hash_of_the_cookies_token(app, client, staff):
    sign_in(client, staff.reception)
    token = app.session_interface.get_signing_serializer(app).loads(copy_cookie(client))[
        "staff_session"
    ]
    [record] = sessions(app)
    assert len(token) >= 40  # 32 random bytes
    assert record.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert record.staff_user_id == account_id(app, staff.reception)


def test_sessions_too_old_to_use_are_deleted_at_the_next_sign_in(app, clock, staff):
    sign_in(app.test_client(), staff.reception)
    sign_in(app.test_client(), staff.maya)
    clock.advance(hours=11)
    sign_in(app.test_client(), staff.daniel)
    assert len(sessions(app)) == 3
    clock.advance(hours=1, minutes=1)  # the first two are past STAFF_SESSION_MAX_HOURS
    sign_in(app.test_client(), staff.admin)
    assert [s.staff_user_id for s in sessions(app)] == [
        account_id(app, staff.daniel),
        account_id(app, staff.admin),
    ]


def test_reading_staff_pages_writes_nothing(app, client, staff, world):
    book(app, local(TUESDAY, 9), world.maya)
    sign_in(client, staff.reception)
    statements: list[str] = []

    def record(_conn, _cursor, statement, *_):
        statements.append(" ".join(statement.split()[:2]).upper())

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        for _ in range(3):
            assert client.get(f"/staff/day?date={TUESDAY}").status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", record)
    writes = [s for s in statements if s.startswith(("INSERT", "UPDATE", "DELETE", "BEGIN IMM"))]
    assert statements and writes == []


def test_session_logs_hold_ids_only(app, client, staff, world, caplog):
    book(app, local(TUESDAY, 9), world.maya)  # Pat Ient1 is on the day page
    caplog.set_level(logging.INFO)
    sign_in(client, staff.reception)
    cookie = copy_cookie(client)
    token = app.session_interface.get_signing_serializer(app).loads(cookie)["staff_session"]
    assert "Pat Ient1" in client.get(f"/staff/day?date={TUESDAY}").text
    sign_out(client)
    assert replay(app, cookie).get(f"/staff/day?date={TUESDAY}").status_code == 302
    target = account_id(app, staff.reception)
    lines = [r.getMessage() for r in caplog.records if r.name.startswith("booking")]
    assert any(line.endswith(f"of account {target} began") for line in lines)
    assert any(line.endswith("ended: signed out") for line in lines)
    assert any(f"account {target} was refused" in line for line in lines)
    for secret in ("Pat Ient1", "patient1@example.com", "604-555-0199", staff.reception,
                   "Rita Desk", token, cookie):  # fmt: skip
        assert secret not in caplog.text
