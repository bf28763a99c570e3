"""Time off or new hours over booked visits: the day, the week and the landing page say so."""

from __future__ import annotations

import re
from datetime import UTC, time, timedelta

from staffing import sign_in
from support import MONDAY, local
from test_workspace import book

from booking.services import hours

TUESDAY = MONDAY + timedelta(days=1)
THURSDAY = MONDAY + timedelta(days=3)
WEDNESDAY = MONDAY + timedelta(days=2)


def banner(page: str) -> str:
    pattern = r'<div class="notice notice-error" role="alert" id="needs-moving">(.*?)</div>'
    found = re.search(pattern, page, re.S)
    return found.group(1) if found else ""


def time_off_labels(page: str) -> list[str]:
    return re.findall(r'class="time-off-label [^"]*"><span>(.*?)</span>', page)


def test_a_day_off_over_a_visit_is_listed_with_a_link_to_move_it(client, app, world, staff):
    kept = book(app, local(TUESDAY, 9), world.maya, n=1)
    caught = book(app, local(TUESDAY, 10), world.daniel, n=2)
    world.time_off(world.daniel, local(TUESDAY, 0), local(WEDNESDAY, 0))
    sign_in(client, staff.reception)
    page = client.get(f"/staff/day?date={TUESDAY}").text
    listed = banner(page)
    assert "1 booked visit needs moving" in listed
    assert f'href="/staff/appointments/{caught}/move"' in listed
    assert f"appointments/{kept}/" not in listed
    assert f'data-start="{local(TUESDAY, 10).astimezone(UTC).isoformat()}"' in listed
    assert "time off" in listed
    visit = re.search(rf'<a class="([^"]*)" href="/staff/appointments/{caught}">', page)
    assert "needs-moving" in visit.group(1).split()
    assert "needs moving: time off" in page
    # The whole day reads as one, not as midnight to midnight.
    assert time_off_labels(page) == ["Time off: off (all day)"]


def test_time_off_across_days_says_from_all_day_and_until(client, app, world, staff):
    world.time_off(world.daniel, local(MONDAY, 15), local(WEDNESDAY, 10))
    sign_in(client, staff.reception)
    week = client.get(f"/staff/therapists/{world.daniel}/week?date={MONDAY}").text
    labels = time_off_labels(week)
    assert len(labels) == 3
    assert labels[0].startswith("Time off: off (from ")
    assert labels[1] == "Time off: off (all day)"
    assert labels[2].startswith("Time off: off (until ")
    assert not [label for label in labels if "00:00" in label]


def test_new_hours_leave_a_visit_outside_and_the_desk_lands_on_the_count(
    client, app, world, staff, clock
):
    thursday = book(app, local(THURSDAY, 9), world.maya, n=1)
    tuesday = book(app, local(TUESDAY, 10), world.daniel, n=2)
    world.time_off(world.daniel, local(TUESDAY, 10), local(TUESDAY, 11))
    with app.app_context():
        week = hours.weekly_hours(world.maya)
        week[3] = [(time(13), time(17))]  # Thursday afternoons only now
        hours.set_weekly_hours(world.maya, week, actor="test", now=clock.now)
    sign_in(client, staff.reception)
    landing = client.get("/staff/")
    assert landing.status_code == 302 and landing.headers["Location"].endswith("/staff/day")
    today = client.get("/staff/day").text  # Monday: nothing to move today, two later
    assert banner(today) == ""
    total = re.search(r'<p class="notice notice-warning" id="moving-total">(.*?)</p>', today)
    assert total and "2 upcoming booked visits need moving" in total.group(1)
    assert 'href="/staff/needs-moving"' in total.group(1)
    listing = client.get("/staff/needs-moving").text
    assert f'href="/staff/appointments/{thursday}/move"' in listing
    assert f'href="/staff/appointments/{tuesday}/move"' in listing
    assert "outside the working hours" in listing and "time off" in listing
    assert listing.index(f"/appointments/{tuesday}/move") < listing.index(
        f"/appointments/{thursday}/move"
    )


def test_a_therapist_lands_on_their_week_and_sees_only_their_own(client, app, world, staff):
    own = book(app, local(TUESDAY, 9), world.maya, n=1)
    other = book(app, local(TUESDAY, 10), world.daniel, n=2)
    world.time_off(world.maya, local(TUESDAY, 0), local(WEDNESDAY, 0))
    world.time_off(world.daniel, local(TUESDAY, 0), local(WEDNESDAY, 0))
    sign_in(client, staff.maya)
    landing = client.get("/staff/")
    assert landing.status_code == 302
    assert landing.headers["Location"].endswith(f"/staff/therapists/{world.maya}/week")
    week = client.get(f"/staff/therapists/{world.maya}/week?date={TUESDAY}").text
    listed = banner(week)
    assert f'href="/staff/appointments/{own}"' in listed  # she cannot move it: she can look
    assert "/move" not in listed and "reception moves them" in listed
    listing = client.get("/staff/needs-moving").text
    assert f"/appointments/{own}" in listing and f"/appointments/{other}" not in listing


def test_signing_in_lands_a_therapist_on_their_week(client, world, staff):
    signed = sign_in(client, staff.maya)
    assert signed.headers["Location"].endswith("/staff/")
    assert (
        client.get("/staff/").headers["Location"].endswith(f"/staff/therapists/{world.maya}/week")
    )
