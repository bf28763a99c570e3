"""Signing in and out, passwords, sessions, and the create-user command."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from staffing import PASSWORD, account_id, csrf_of, sign_in
from werkzeug.security import generate_password_hash

from booking.extensions import db
from booking.models import AuditEvent, StaffUser


def test_staff_pages_need_a_sign_in(client, staff):
    response = client.get("/staff/day")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/staff/login?next=")


def test_signing_in_and_out(client, staff):
    response = sign_in(client, staff.reception)
    assert response.status_code == 302
    assert client.get("/staff/day").status_code == 200
    day = client.get("/staff/day").text
    signed_out = client.post("/staff/logout", data={"csrf_token": csrf_of(day)})
    assert signed_out.status_code == 302
    assert client.get("/staff/day").status_code == 302


def test_sign_out_needs_the_csrf_token(client, staff):
    sign_in(client, staff.reception)
    assert client.post("/staff/logout").status_code == 400
    assert client.get("/staff/day").status_code == 200


def test_a_failed_sign_in_does_not_say_whether_the_account_exists(client, staff):
    wrong_password = sign_in(client, staff.reception, "not the password at all")
    no_account = sign_in(client, "nobody@clinic.example", "not the password at all")
    assert wrong_password.status_code == no_account.status_code == 401
    strip = lambda html: html.replace(csrf_of(html), "")  # noqa: E731
    assert strip(wrong_password.text).replace(staff.reception, "") == strip(
        no_account.text
    ).replace("nobody@clinic.example", "")
    assert "Email or password is not right" in no_account.text


def test_sign_in_is_rate_limited(client, staff):
    for _ in range(5):
        assert sign_in(client, staff.reception, "wrong password here").status_code == 401
    assert sign_in(client, staff.reception).status_code == 429  # even the right password waits


def test_an_inactive_account_cannot_sign_in_and_is_signed_out(client, app, staff):
    sign_in(client, staff.reception)
    with app.app_context():
        user = db.session.scalar(select(StaffUser).where(StaffUser.email == staff.reception))
        user.active = False
        db.session.commit()
    assert client.get("/staff/day").status_code == 302
    assert sign_in(client, staff.reception).status_code == 401


def test_next_only_leads_inside_the_workspace(client, staff):
    page = client.get("/staff/login?next=/staff/therapists/1/week")
    assert 'value="/staff/therapists/1/week"' in page.text
    for target, expected in (
        ("/staff/therapists/1/week", "/staff/therapists/1/week"),
        ("https://evil.example/staff/", "/staff/"),
        ("//evil.example/staff/", "/staff/"),
        ("/\\evil.example", "/staff/"),
    ):
        client.get("/staff/login")
        login = client.get("/staff/login").text
        response = client.post(
            "/staff/login",
            data={
                "csrf_token": csrf_of(login),
                "email": staff.reception,
                "password": PASSWORD,
                "next": target,
            },
        )
        assert response.headers["Location"] == expected, target
        client.post("/staff/logout", data={"csrf_token": csrf_of(client.get("/staff/day").text)})


def test_sessions_expire_even_when_busy(client, staff, clock):
    sign_in(client, staff.reception)
    clock.advance(hours=11)
    assert client.get("/staff/day").status_code == 200
    clock.advance(hours=1, minutes=1)  # 12 hours after signing in
    assert client.get("/staff/day").status_code == 302


def test_the_session_cookie_is_httponly_lax_and_expires(client, app, staff):
    app.config["SESSION_COOKIE_SECURE"] = True
    page = client.get("/staff/login")
    response = client.post(
        "/staff/login",
        data={"csrf_token": csrf_of(page.text), "email": staff.reception, "password": PASSWORD},
    )
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" in cookie
    assert "Expires=" in cookie  # a permanent session: PERMANENT_SESSION_LIFETIME applies
    assert app.config["PERMANENT_SESSION_LIFETIME"] == timedelta(hours=2)


def test_changing_the_password_signs_out_other_devices(app, staff):
    desk, tablet = app.test_client(), app.test_client()
    sign_in(desk, staff.reception)
    sign_in(tablet, staff.reception)
    page = desk.get("/staff/password").text
    new = "a different long password"
    response = desk.post(
        "/staff/password",
        data={"csrf_token": csrf_of(page), "current": PASSWORD, "new": new, "repeat": new},
    )
    assert response.status_code == 302
    assert desk.get("/staff/day").status_code == 200  # this device stays signed in
    assert tablet.get("/staff/day").status_code == 302  # the other one is out
    assert sign_in(app.test_client(), staff.reception, new).status_code == 302


@pytest.mark.parametrize(
    ("current", "new", "repeat", "error"),
    [
        (
            "wrong current password",
            "a different long password",
            "a different long password",
            "not your current password",
        ),
        (PASSWORD, "short", "short", "at least 12"),
        (PASSWORD, "a different long password", "another long password", "differ"),
    ],
)
def test_password_change_errors(client, staff, current, new, repeat, error):
    sign_in(client, staff.reception)
    page = client.get("/staff/password").text
    response = client.post(
        "/staff/password",
        data={"csrf_token": csrf_of(page), "current": current, "new": new, "repeat": repeat},
    )
    assert response.status_code == 200
    assert error in response.text
    assert 'aria-invalid="true"' in response.text


def test_passwords_are_stored_as_scrypt_hashes(app, staff):
    with app.app_context():
        stored = db.session.scalar(
            select(StaffUser.password_hash).where(StaffUser.email == staff.reception)
        )
    assert stored.startswith("scrypt:") and PASSWORD not in stored


def test_a_password_hashed_with_the_default_method_still_signs_in(app, client, staff):
    # The tests hash with cheap parameters; an account hashed as production hashes (scrypt's
    # default cost) still opens, since each hash names its own method and parameters.
    with app.app_context():
        user = db.session.scalar(select(StaffUser).where(StaffUser.email == staff.reception))
        assert user.password_hash.startswith(f"{app.config['PASSWORD_HASH_METHOD']}$")
        user.password_hash = generate_password_hash(PASSWORD)
        db.session.commit()
    assert sign_in(client, staff.reception, "not the password at all").status_code == 401
    assert sign_in(client, staff.reception).status_code == 302
    assert client.get("/staff/day").status_code == 200


def test_create_user_command(runner, world):
    therapist = world.make_therapist("Priya Sandhu")

    def create(email: str, name: str, *options: str, password: str = PASSWORD):
        args = ["create-user", "--email", email, "--name", name, *options]
        return runner.invoke(args=[*args, "--password", password])

    result = runner.invoke(
        args=["create-user", "--email", "Boss@Clinic.Example", "--name", "Boss"],
        input=f"{PASSWORD}\n{PASSWORD}\n",
    )
    assert result.exit_code == 0, result.output
    assert "Created admin account boss@clinic.example" in result.output
    again = create("boss@clinic.example", "Boss 2")
    assert again.exit_code != 0 and "exists already" in again.output
    unlinked = create("t@clinic.example", "T", "--role", "therapist")
    assert unlinked.exit_code != 0 and "linked to one therapist" in unlinked.output
    linked = create("t@clinic.example", "T", "--role", "therapist", "--therapist", str(therapist))
    assert linked.exit_code == 0, linked.output
    weak = create("w@clinic.example", "W", password="short")
    assert weak.exit_code != 0 and "at least 12" in weak.output


def test_an_admin_gives_a_lost_password_a_new_one(app, staff):
    desk = app.test_client()
    sign_in(desk, staff.reception)
    boss = app.test_client()
    sign_in(boss, staff.admin)
    target = account_id(app, staff.reception)
    url = f"/staff/admin/accounts/{target}/password"
    assert url in boss.get("/staff/admin").text
    page = boss.get(url)
    assert page.status_code == 200 and "New password for Rita Desk" in page.text
    new = "a brand new long password"
    response = boss.post(url, data={"csrf_token": csrf_of(page.text), "new": new, "repeat": new})
    assert response.status_code == 302 and response.headers["Location"].endswith("/staff/admin")
    assert "Rita Desk has a new password" in boss.get("/staff/admin").text
    assert desk.get("/staff/day").status_code == 302  # signed out on every device
    assert sign_in(app.test_client(), staff.reception).status_code == 401  # old one refused
    assert sign_in(app.test_client(), staff.reception, new).status_code == 302
    assert boss.get("/staff/day").status_code == 200  # the admin stays signed in
    with app.app_context():
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "password_reset"))
    assert (event.entity_id, event.actor) == (target, f"staff:{account_id(app, staff.admin)}")
    assert event.before is None and event.after is None  # no hash, old or new, in the audit


@pytest.mark.parametrize(
    ("new", "repeat", "error"),
    [
        ("short", "short", "at least 12"),
        ("a brand new long password", "another long password", "differ"),
        ("", "", "This field is required"),
        ("x" * 300, "x" * 300, "at most 256"),
    ],
)
def test_a_refused_new_password_changes_nothing(app, staff, new, repeat, error):
    boss = app.test_client()
    sign_in(boss, staff.admin)
    url = f"/staff/admin/accounts/{account_id(app, staff.reception)}/password"
    page = boss.get(url).text
    response = boss.post(url, data={"csrf_token": csrf_of(page), "new": new, "repeat": repeat})
    assert response.status_code == 422
    assert error in response.text and 'aria-invalid="true"' in response.text
    stale = boss.post(url, data={"csrf_token": "stale", "new": new, "repeat": new})
    assert stale.status_code == 400
    assert sign_in(app.test_client(), staff.reception).status_code == 302  # unchanged


def test_new_password_page_for_oneself_or_nobody(app, staff):
    boss = app.test_client()
    sign_in(boss, staff.admin)
    own = boss.get(f"/staff/admin/accounts/{account_id(app, staff.admin)}/password")
    assert own.status_code == 302 and own.headers["Location"].endswith("/staff/password")
    assert boss.get("/staff/admin/accounts/999999/password").status_code == 404
    token = csrf_of(boss.get("/staff/password").text)
    new = "a brand new long password"
    gone = boss.post(
        "/staff/admin/accounts/999999/password",
        data={"csrf_token": token, "new": new, "repeat": new},
    )
    assert gone.status_code == 404


def test_set_password_command(app, runner, staff):
    desk = app.test_client()
    sign_in(desk, staff.reception)
    new = "a brand new long password"
    result = runner.invoke(args=["set-password", "DESK@clinic.example"], input=f"{new}\n{new}\n")
    assert result.exit_code == 0, result.output
    assert "New password set for desk@clinic.example" in result.output
    assert desk.get("/staff/day").status_code == 302
    assert sign_in(app.test_client(), staff.reception, new).status_code == 302
    unknown = runner.invoke(args=["set-password", "nobody@clinic.example", "--password", new])
    assert unknown.exit_code != 0 and "no account with this email" in unknown.output
    weak = runner.invoke(args=["set-password", staff.reception, "--password", "short"])
    assert weak.exit_code != 0 and "at least 12" in weak.output
    assert sign_in(app.test_client(), staff.reception, new).status_code == 302  # unchanged
