"""Admins manage settings, closures, therapists, services and accounts; nobody else can."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select
from staffing import PASSWORD, csrf_of, sign_in
from support import MONDAY

from booking.extensions import db
from booking.models import AuditEvent, Clinic, Service, StaffUser, Therapist

TUESDAY = MONDAY + timedelta(days=1)
ADMIN_PAGES = [
    "/staff/admin",
    "/staff/admin/settings",
    "/staff/admin/closures",
    "/staff/admin/therapists/new",
    "/staff/admin/services/new",
    "/staff/admin/accounts/new",
]


@pytest.mark.parametrize("role", ["reception", "maya"])
def test_only_admins_reach_the_admin_pages(client, staff, role):
    sign_in(client, getattr(staff, role))
    token = csrf_of(client.get("/staff/password").text)
    for url in ADMIN_PAGES:
        assert client.get(url).status_code == 403, url
    for url in ADMIN_PAGES[1:]:  # the index is GET only
        assert client.post(url, data={"csrf_token": token}).status_code == 403, url
    assert (
        client.post("/staff/admin/accounts/1/disable", data={"csrf_token": token}).status_code
        == 403
    )


def test_every_admin_page_opens(client, staff):
    sign_in(client, staff.admin)
    for url in ADMIN_PAGES:
        assert client.get(url).status_code == 200, url


def offered(client, day) -> int:
    response = client.get(
        "/api/v1/availability", query_string={"service": "physio", "from": day, "to": day}
    )
    return len(response.get_json()["slots"])


def test_settings_change_together_or_not_at_all(client, app, staff):
    sign_in(client, staff.admin)
    page = client.get("/staff/admin/settings").text
    form = dict(re.findall(r'name="([a-z_]+)"[^>]*value="([^"]*)"', page))
    form["csrf_token"] = csrf_of(page)
    bad = client.post("/staff/admin/settings", data={**form, "booking_horizon_days": "60",
                                                     "slot_step_minutes": "3"})  # fmt: skip
    assert bad.status_code == 422 and "Must be between 5 and 240." in bad.text
    with app.app_context():
        assert db.session.get(Clinic, 1).booking_horizon_days == 90  # nothing changed
    good = client.post("/staff/admin/settings", data={**form, "booking_horizon_days": "60",
                                                      "min_notice_minutes": "60"})  # fmt: skip
    assert good.status_code == 302
    with app.app_context():
        clinic = db.session.get(Clinic, 1)
        assert (clinic.booking_horizon_days, clinic.min_notice_minutes) == (60, 60)
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "setting_changed"))
        assert event.after == {"min_notice_minutes": 60, "booking_horizon_days": 60}


def test_a_closure_empties_the_day_for_patients(client, staff, world):
    sign_in(client, staff.admin)
    assert offered(client, TUESDAY.isoformat()) > 0
    page = client.get("/staff/admin/closures").text
    added = client.post(
        "/staff/admin/closures",
        data={"csrf_token": csrf_of(page), "first_day": TUESDAY.isoformat(), "reason": "Floods"},
    )
    assert added.status_code == 302
    assert offered(client, TUESDAY.isoformat()) == 0
    page = client.get("/staff/admin/closures").text
    assert "Floods" in page
    backwards = client.post(
        "/staff/admin/closures",
        data={"csrf_token": csrf_of(page), "first_day": TUESDAY.isoformat(),
              "last_day": MONDAY.isoformat()},
    )  # fmt: skip
    assert backwards.status_code == 422 and "comes before" in backwards.text
    action = re.search(r'action="(/staff/admin/closures/\d+/delete)"', page).group(1)
    assert client.post(action, data={"csrf_token": csrf_of(page)}).status_code == 302
    assert offered(client, TUESDAY.isoformat()) > 0


def test_adding_a_therapist_and_their_certification(client, app, staff, world):
    sign_in(client, staff.admin)
    page = client.get("/staff/admin/therapists/new").text
    # Optional checkboxes: a browser must let them go unticked.
    for name in ("active", "ims_certified"):
        tag = re.search(rf'<input[^>]*name="{name}"[^>]*>', page).group(0)
        assert "required" not in tag
    physio = str(world.services["physio"].id)
    assessment = str(world.services["assessment"].id)
    data = {"csrf_token": csrf_of(page), "name": "Priya Sandhu", "email": "priya@clinic.example",
            "active": "y", "ims_certified": "y", "services": [physio, assessment]}  # fmt: skip
    missing = client.post("/staff/admin/therapists/new", data=data)
    assert missing.status_code == 422 and "Give the certification" in missing.text
    saved = client.post(
        "/staff/admin/therapists/new", data={**data, "ims_certification_expires": "2028-01-31"}
    )
    assert saved.status_code == 302
    with app.app_context():
        priya = db.session.scalar(select(Therapist).where(Therapist.name == "Priya Sandhu"))
        assert {s.slug for s in priya.services} == {"physio", "assessment"}
        assert priya.email == "priya@clinic.example"
    response = client.get("/api/v1/therapists", query_string={"service": "assessment"})
    assert "Priya Sandhu" in [t["name"] for t in response.get_json()["therapists"]]


def test_services_are_checked(client, app, staff, world):
    sign_in(client, staff.admin)
    page = client.get("/staff/admin/services/new").text
    base = {"csrf_token": csrf_of(page), "name": "IMS booster", "slug": "ims-booster",
            "duration_minutes": "20", "buffer_minutes": "5", "requires_ims": "y",
            "prerequisite": str(world.services["assessment"].id), "active": "y"}  # fmt: skip
    for change, message in (
        ({"slug": "IMS Booster"}, "lower-case letters"),
        ({"slug": "physio"}, "Another service has this web address."),
        ({"prerequisite": str(world.services["follow-up"].id)}, "Choose a first visit"),
        ({"duration_minutes": "0"}, "between 5 and 480"),
    ):
        response = client.post("/staff/admin/services/new", data={**base, **change})
        assert response.status_code == 422 and message in response.text, change
    assert client.post("/staff/admin/services/new", data=base).status_code == 302
    with app.app_context():
        booster = db.session.scalar(select(Service).where(Service.slug == "ims-booster"))
        assert booster.prerequisite_id == world.services["assessment"].id


def test_accounts_are_made_and_switched_off(client, app, staff):
    sign_in(client, staff.admin)
    page = client.get("/staff/admin/accounts/new").text
    made = client.post(
        "/staff/admin/accounts/new",
        data={"csrf_token": csrf_of(page), "email": "new@clinic.example", "name": "New Desk",
              "role": "reception", "therapist": "0", "password": PASSWORD},
    )  # fmt: skip
    assert made.status_code == 302
    newcomer = app.test_client()
    assert sign_in(newcomer, "new@clinic.example").status_code == 302
    assert newcomer.get("/staff/day").status_code == 200
    with app.app_context():
        user_id = db.session.scalar(
            select(StaffUser.id).where(StaffUser.email == "new@clinic.example")
        )
        me = db.session.scalar(select(StaffUser.id).where(StaffUser.email == staff.admin))
    token = csrf_of(client.get("/staff/admin").text)
    assert client.post(f"/staff/admin/accounts/{user_id}/disable",
                       data={"csrf_token": token}).status_code == 302  # fmt: skip
    assert newcomer.get("/staff/day").status_code == 302  # signed out at once
    assert sign_in(app.test_client(), "new@clinic.example").status_code == 401
    refused = client.post(f"/staff/admin/accounts/{me}/disable", data={"csrf_token": token})
    assert "cannot switch off your own account" in client.get(refused.headers["Location"]).text
    weak = client.post(
        "/staff/admin/accounts/new",
        data={"csrf_token": token, "email": "w@clinic.example", "name": "W", "role": "therapist",
              "therapist": "0", "password": PASSWORD},
    )  # fmt: skip
    assert weak.status_code == 422 and "linked to one therapist" in weak.text


NOT_NAMES = ["Cedar =?utf-8?q?=0D=0ABcc:_x@example.com?=", "Cedar\u2028Grove", "Cedar \u202eevorG"]


@pytest.mark.parametrize("name", NOT_NAMES, ids=["encoded-word", "line-separator", "bidi"])
def test_admin_forms_refuse_names_that_would_become_mail_structure(client, app, staff, name):
    """The clinic's, a therapist's, a service's and an account's name go into headers."""
    sign_in(client, staff.admin)
    with app.app_context():
        before = (
            db.session.get(Clinic, 1).name,
            db.session.scalars(select(Therapist.name)).all(),
            db.session.scalars(select(Service.name)).all(),
            db.session.scalars(select(StaffUser.name)).all(),
        )
    page = client.get("/staff/admin/settings").text
    form = dict(re.findall(r'name="([a-z_]+)"[^>]*value="([^"]*)"', page))
    refused = client.post("/staff/admin/settings", data={**form, "name": name})
    assert refused.status_code == 422 and 'id="name-error"' in refused.text
    token = csrf_of(client.get("/staff/admin/therapists/new").text)
    for url, data in (
        ("/staff/admin/therapists/new", {"name": name}),
        ("/staff/admin/services/new", {"name": name, "slug": "x", "duration_minutes": "30",
                                       "buffer_minutes": "0", "prerequisite": "0"}),
        ("/staff/admin/accounts/new", {"name": name, "email": "new@clinic.example",
                                       "role": "reception", "therapist": "0",
                                       "password": PASSWORD}),
    ):  # fmt: skip
        response = client.post(url, data={"csrf_token": token, **data})
        assert response.status_code == 422 and 'id="name-error"' in response.text, url
    with app.app_context():
        after = (
            db.session.get(Clinic, 1).name,
            db.session.scalars(select(Therapist.name)).all(),
            db.session.scalars(select(Service.name)).all(),
            db.session.scalars(select(StaffUser.name)).all(),
        )
    assert after == before


@pytest.mark.parametrize("name", NOT_NAMES, ids=["encoded-word", "line-separator", "bidi"])
def test_the_command_line_refuses_them_too(runner, app, staff, name):
    refused = runner.invoke(args=["clinic", "set", "name", name])
    assert refused.exit_code != 0 and "name" in refused.output
    made = runner.invoke(
        args=["create-user", "--email", "x@clinic.example", "--name", name, "--role", "reception"],
        input=f"{PASSWORD}\n{PASSWORD}\n",
    )
    assert made.exit_code != 0 and "name" in made.output.lower()
    with app.app_context():
        assert db.session.get(Clinic, 1).name == "Test Clinic"
        assert (
            db.session.scalar(select(StaffUser).where(StaffUser.email == "x@clinic.example"))
            is None
        )


def test_a_reminder_lead_not_longer_than_the_cutoff_needs_a_real_confirm(client, app, staff):
    sign_in(client, staff.admin)
    page = client.get("/staff/admin/settings").text
    assert 'name="short_reminder_ok"' not in page  # no confirmation before it is needed
    form = dict(re.findall(r'name="([a-z_]+)"[^>]*value="([^"]*)"', page))
    form["csrf_token"] = csrf_of(page)
    for lead in ("600", "1440"):  # shorter than the 24-hour cut-off, and equal to it
        refused = client.post("/staff/admin/settings", data={**form, "reminder_lead_minutes": lead})
        assert refused.status_code == 422
        assert "could only give the phone number" in refused.text
        assert 'name="short_reminder_ok"' in refused.text  # the second, deliberate step
        with app.app_context():
            assert db.session.get(Clinic, 1).reminder_lead_minutes == 2880  # nothing changed
    confirmed = client.post(
        "/staff/admin/settings",
        data={**form, "reminder_lead_minutes": "600", "short_reminder_ok": "y"},
    )
    assert confirmed.status_code == 302
    with app.app_context():
        assert db.session.get(Clinic, 1).reminder_lead_minutes == 600
    # Raising the cut-off past a good reminder lead is the same mistake, and asks the same.
    page = client.get("/staff/admin/settings").text
    form = dict(re.findall(r'name="([a-z_]+)"[^>]*value="([^"]*)"', page))
    form |= {"csrf_token": csrf_of(page), "reminder_lead_minutes": "2880"}
    assert client.post("/staff/admin/settings", data=form).status_code == 302
    longer = client.post("/staff/admin/settings", data={**form, "cancel_cutoff_minutes": "2880"})
    assert longer.status_code == 422 and 'name="short_reminder_ok"' in longer.text
    # Other settings of a clinic already set that way save without asking again.
    with app.app_context():
        db.session.get(Clinic, 1).reminder_lead_minutes = 600
        db.session.commit()
    form["reminder_lead_minutes"] = "600"
    assert (
        client.post("/staff/admin/settings", data={**form, "phone": "604-555-0111"}).status_code
        == 302
    )


def test_the_cli_refuses_a_short_reminder_lead_unless_told(app, runner, staff):
    refused = runner.invoke(args=["clinic", "set", "reminder_lead_minutes", "60"])
    assert refused.exit_code != 0 and "could only give the phone number" in refused.output
    with app.app_context():
        assert db.session.get(Clinic, 1).reminder_lead_minutes == 2880
    done = runner.invoke(
        args=["clinic", "set", "reminder_lead_minutes", "60", "--short-reminder-ok"]
    )
    assert done.exit_code == 0
    with app.app_context():
        assert db.session.get(Clinic, 1).reminder_lead_minutes == 60
