"""Therapists run their own availability: weekly hours, time off, their calendar feed."""

from __future__ import annotations

from datetime import timedelta

from staffing import csrf_of, sign_in
from support import MONDAY, local
from test_workspace import book

from booking.extensions import db
from booking.models import AuditEvent, CalendarFeed

TUESDAY = MONDAY + timedelta(days=1)
NEXT_TUESDAY = TUESDAY + timedelta(days=7)


def offered(client, therapist_id, day) -> list[str]:
    response = client.get(
        "/api/v1/availability",
        query_string={"service": "physio", "from": day.isoformat(), "to": day.isoformat(),
                      "therapist": therapist_id},
    )  # fmt: skip
    return [slot["start"][11:16] for slot in response.get_json()["slots"]]


def week_form(**days: list[tuple[str, str]]) -> dict[str, str]:
    names = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
    data = {}
    for day, name in enumerate(names):
        for n, (start, end) in enumerate(days.get(name, [])):
            data[f"d{day}_{n}_start"], data[f"d{day}_{n}_end"] = start, end
    return data


def test_a_therapist_changes_their_hours_and_the_site_follows(client, app, staff, world):
    before = offered(client, world.maya, NEXT_TUESDAY)
    assert "09:00" in before and "16:00" in before
    kept = book(app, local(NEXT_TUESDAY, 9), world.maya, n=1)
    dropped = book(app, local(NEXT_TUESDAY, 15), world.maya, n=2)
    sign_in(client, staff.maya)
    url = f"/staff/therapists/{world.maya}/hours"
    page = client.get(url)
    assert page.status_code == 200 and 'value="13:00"' in page.text
    data = week_form(tuesday=[("08:00", "12:00"), ("12:30", "14:00")])
    response = client.post(url, data={"csrf_token": csrf_of(page.text), **data})
    assert response.status_code == 200
    assert "The weekly hours are saved" in response.text
    # The visit left outside the new hours is listed, not moved.
    assert "1 booked visit is now outside working time" in response.text
    assert f"/staff/appointments/{dropped}" in response.text
    assert f"/staff/appointments/{kept}" not in response.text
    after = offered(client, world.maya, NEXT_TUESDAY)
    assert "08:00" in after and "12:30" in after and "15:00" not in after
    assert offered(client, world.maya, NEXT_TUESDAY + timedelta(days=1)) == []  # Wednesday off
    with app.app_context():
        event = db.session.query(AuditEvent).filter_by(action="hours_changed").one()
        assert event.after == {"Tuesday": ["08:00-12:00", "12:30-14:00"]}


def test_bad_hours_are_refused_and_change_nothing(client, app, staff, world):
    sign_in(client, staff.maya)
    url = f"/staff/therapists/{world.maya}/hours"
    token = csrf_of(client.get(url).text)
    for data, message in (
        (
            week_form(monday=[("09:00", "13:00"), ("12:00", "17:00")]),
            "Monday: the periods overlap.",
        ),
        (week_form(friday=[("17:00", "09:00")]), "Friday: each period must end after it starts."),
        ({"d2_0_start": "09:00", "d2_0_end": ""}, "Wednesday: give each period a start"),
        ({"d3_0_start": "9am", "d3_0_end": "17:00"}, "Thursday: give each period a start"),
        ({"d4_0_start": "25:00", "d4_0_end": "26:00"}, "Friday: give each period a start"),
    ):
        response = client.post(url, data={"csrf_token": token, **data})
        assert response.status_code == 422, message
        assert message in response.text
        assert 'aria-describedby="d' in response.text
    assert "16:00" in offered(client, world.maya, NEXT_TUESDAY)
    assert client.post(url, data=week_form(monday=[("09:00", "10:00")])).status_code == 400


def test_time_off_for_part_of_a_day(client, app, staff, world):
    visit = book(app, local(NEXT_TUESDAY, 14), world.maya, n=1)
    sign_in(client, staff.maya)
    url = f"/staff/therapists/{world.maya}/time-off"
    page = client.get(url).text
    response = client.post(
        url,
        data={"csrf_token": csrf_of(page), "first_day": NEXT_TUESDAY.isoformat(),
              "from_time": "13:00", "until_time": "17:00", "reason": "Dentist"},
    )  # fmt: skip
    assert response.status_code == 200
    assert "The time off is saved" in response.text
    assert f"/staff/appointments/{visit}" in response.text and "time off" in response.text
    assert (
        "Tuesday, March 9, 2027, 1:00 p.m. (Pacific time) until Tuesday, March 9, 2027, 5:00 p.m."
        in (response.text)
    )
    times = offered(client, world.maya, NEXT_TUESDAY)
    assert "09:00" in times and "13:00" not in times and "16:00" not in times


def test_several_whole_days_off_then_removed(client, app, staff, world):
    sign_in(client, staff.reception)  # reception may manage anyone's
    url = f"/staff/therapists/{world.maya}/time-off"
    page = client.get(url).text
    client.post(
        url,
        data={"csrf_token": csrf_of(page), "first_day": NEXT_TUESDAY.isoformat(),
              "last_day": (NEXT_TUESDAY + timedelta(days=2)).isoformat(), "reason": "Course"},
    )  # fmt: skip
    for offset in range(3):
        assert offered(client, world.maya, NEXT_TUESDAY + timedelta(days=offset)) == []
    assert offered(client, world.maya, NEXT_TUESDAY + timedelta(days=3)) != []
    page = client.get(url).text
    action = next(a for a in page.split('action="')[1:] if "/delete" in a.split('"')[0])
    action = action.split('"')[0]
    assert client.post(action, data={"csrf_token": csrf_of(page)}).status_code == 302
    assert offered(client, world.maya, NEXT_TUESDAY) != []


def test_bad_time_off_is_refused(client, staff, world, clock):
    sign_in(client, staff.maya)
    url = f"/staff/therapists/{world.maya}/time-off"
    token = csrf_of(client.get(url).text)
    for data, message in (
        ({"first_day": "2027-02-31"}, "Not a valid date value"),
        ({"first_day": ""}, "Choose the first day."),
        ({"first_day": NEXT_TUESDAY.isoformat(), "last_day": MONDAY.isoformat()},
         "must end after it starts"),
        ({"first_day": "2027-02-01"}, "already over"),
        ({"first_day": NEXT_TUESDAY.isoformat(), "reason": "x" * 201}, "200 characters"),
    ):  # fmt: skip
        response = client.post(url, data={"csrf_token": token, **data})
        assert response.status_code == 422, data
        assert message in response.text, data


def test_therapists_manage_only_their_own_availability(client, staff, world):
    sign_in(client, staff.maya)
    token = csrf_of(client.get("/staff/password").text)
    for page in ("hours", "time-off", "calendar-feed"):
        assert client.get(f"/staff/therapists/{world.daniel}/{page}").status_code == 403
        refused = client.post(
            f"/staff/therapists/{world.daniel}/{page}", data={"csrf_token": token}
        )
        assert refused.status_code == 403
        assert client.get(f"/staff/therapists/{world.maya}/{page}").status_code == 200


def test_the_calendar_feed_page_makes_and_regenerates_the_address(client, app, staff, world):
    sign_in(client, staff.maya)
    url = f"/staff/therapists/{world.maya}/calendar-feed"
    page = client.get(url).text
    assert "There is no address yet." in page  # looking writes nothing
    with app.app_context():
        assert db.session.get(CalendarFeed, world.maya) is None
    page = client.get(client.post(url, data={"csrf_token": csrf_of(page)}).headers["Location"])
    assert "The address is made" in page.text
    address = page.text.split('class="manage-link"><a href="webcal://clinic.test')[1].split('"')[0]
    assert client.get(address).status_code == 200
    again = client.post(url, data={"csrf_token": csrf_of(page.text)})
    assert "The old one has stopped working." in client.get(again.headers["Location"]).text
    assert client.get(address).status_code == 404
