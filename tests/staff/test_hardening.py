"""Bad input from a review of the workspace: each gets a clear answer, never a 500."""

from __future__ import annotations

from datetime import timedelta

import pytest
from staffing import PASSWORD, csrf_of, sign_in
from support import MONDAY, local
from test_workspace import book

from booking.extensions import db
from booking.models import Appointment

TUESDAY = MONDAY + timedelta(days=1)


@pytest.mark.parametrize(
    "url",
    [
        "/staff/appointments/99999999999999999999",
        "/staff/therapists/99999999999999999999/week",
        "/staff/admin/therapists/9223372036854775808",
        "/manage/x/appointment.ics",
        "/calendar/therapists/99999999999999999999/token.ics",
    ],
)
def test_huge_ids_are_404s(client, staff, url):
    sign_in(client, staff.admin)
    assert client.get(url).status_code == 404


def test_a_huge_patient_parameter_is_ignored(client, staff, world):
    sign_in(client, staff.reception)
    start = "20270302T1700Z"
    url = f"/staff/book/details?service=physio&therapist=any&start={start}"
    assert client.get(f"{url}&patient=99999999999999999999").status_code == 200


@pytest.mark.parametrize(
    "target", ["/staff/day%0A", "/staff/day%0d%0aSet-Cookie:x", "/staff/day\nx", "/staff/d\tay"]
)
def test_redirect_targets_with_control_characters_are_ignored(client, staff, target):
    page = client.get("/staff/login").text
    response = client.post(
        "/staff/login",
        data={"csrf_token": csrf_of(page), "email": staff.reception, "password": PASSWORD,
              "next": target},
    )  # fmt: skip
    assert response.status_code == 302 and response.headers["Location"] == "/staff/"


@pytest.mark.parametrize("day", ["9999-12-31", "1999-12-31"])
def test_time_off_at_the_calendars_edges_is_refused(client, staff, world, day):
    sign_in(client, staff.maya)
    url = f"/staff/therapists/{world.maya}/time-off"
    token = csrf_of(client.get(url).text)
    response = client.post(url, data={"csrf_token": token, "first_day": day, "until_time": "10:00"})
    assert response.status_code == 422
    assert "between the years 2000 and 2200" in response.text


def test_a_cancel_without_its_sequence_is_refused(client, app, staff, world):
    visit = book(app, local(TUESDAY, 9), world.maya)
    sign_in(client, staff.reception)
    url = f"/staff/appointments/{visit}/cancel"
    token = csrf_of(client.get(url).text)
    response = client.post(url, data={"csrf_token": token, "reason": "No sequence sent"})
    assert response.status_code == 400
    with app.app_context():
        assert db.session.get(Appointment, visit).status == "booked"


def test_a_service_others_depend_on_cannot_get_a_prerequisite(client, staff, world):
    sign_in(client, staff.admin)
    assessment = world.services["assessment"].id
    url = f"/staff/admin/services/{assessment}"
    page = client.get(url).text
    response = client.post(
        url,
        data={"csrf_token": csrf_of(page), "name": "IMS initial assessment",
              "slug": "assessment", "duration_minutes": "60", "buffer_minutes": "10",
              "requires_ims": "y", "active": "y",
              "prerequisite": str(world.services["physio"].id)},
    )  # fmt: skip
    assert response.status_code == 422 and "stays a first visit" in response.text


def test_the_clinic_email_must_be_an_address(runner, world):
    result = runner.invoke(args=["clinic", "set", "email", "not an address"])
    assert result.exit_code != 0 and "ust be an email address" in result.output
