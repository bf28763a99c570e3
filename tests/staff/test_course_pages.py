"""Staff plan a course from a visit, pick its times, book it whole, and follow it."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

from sqlalchemy import func, select
from staffing import csrf_of, sign_in
from support import ANSWERS, MONDAY, local
from test_workspace import book

from booking.extensions import db
from booking.models import Appointment, AuditEvent, Course, Event, OutboxMessage

TUESDAY = MONDAY + timedelta(days=1)


def assessment(app, world):
    return book(app, local(TUESDAY, 9), world.maya, service="assessment", answers=dict(ANSWERS))


def plan_fields(page: str) -> dict[str, object]:
    """The plan form as the page filled it in (selected options, checked weekdays)."""
    fields: dict[str, object] = {"csrf_token": csrf_of(page)}
    for name, value in re.findall(r'<input[^>]*name="([a-z_]+)"[^>]*value="([^"]*)"', page):
        if name not in ("csrf_token", "weekdays"):
            fields[name] = unescape(value)
    for name, block in re.findall(r'<select[^>]*name="([a-z_]+)"[^>]*>(.*?)</select>', page, re.S):
        fields[name] = re.search(r'<option selected value="([^"]*)"', block).group(1)
    fields["weekdays"] = re.findall(r'name="weekdays"[^>]*value="(\d)"[^>]*checked', page) or [
        v for v in re.findall(r'checked[^>]*name="weekdays"[^>]*value="(\d)"', page)
    ]
    return fields


def chosen(page: str) -> dict[str, str]:
    """Each session's checked choice on the proposal."""
    found = {}
    for name, value in re.findall(r'name="(session-\d+)" value="([^"]+)" checked', page):
        found[name] = unescape(value)
    return found


def propose(client, url, fields):
    return client.post(url, data=fields | {"step": "propose"})


def test_reception_plans_proposes_and_books_a_course_from_the_assessment(client, app, staff,
                                                                         world):  # fmt: skip
    visit = assessment(app, world)
    sign_in(client, staff.reception)
    url = f"/staff/appointments/{visit}/course"
    page = client.get(url)
    assert page.status_code == 200
    fields = plan_fields(page.text)
    assert fields["service"] == "follow-up" and fields["therapist_id"] == str(world.maya)
    assert fields["sessions"] == "8" and fields["cadence_days"] == "7"
    assert fields["first_on"] == (TUESDAY + timedelta(days=7)).isoformat()
    proposal = propose(client, url, fields)
    assert proposal.status_code == 200
    choices = chosen(proposal.text)
    assert len(choices) == 8
    booked = client.post(url, data=fields | choices | {"step": "book"})
    assert booked.status_code == 302
    course_page = client.get(booked.headers["Location"])
    assert "0 of 8 done" in course_page.text
    assert "8 booked ahead" in course_page.text
    with app.app_context():
        course = db.session.scalars(select(Course)).one()
        assert (
            db.session.scalar(select(func.count()).where(Appointment.course_id == course.id)) == 8
        )
        assert (
            db.session.scalar(
                select(func.count()).where(OutboxMessage.event == Event.COURSE_BOOKED.value)
            )
            == 1
        )


def test_a_time_taken_meanwhile_books_nothing_and_proposes_again(client, app, staff, world):
    visit = assessment(app, world)
    sign_in(client, staff.reception)
    url = f"/staff/appointments/{visit}/course"
    fields = plan_fields(client.get(url).text)
    choices = chosen(propose(client, url, fields).text)
    # Someone books the third session's time on the phone line beside.
    third = choices["session-3"].partition("@")[2]
    with app.app_context():
        from booking.web.params import parse_start

        start = parse_start(third)
    book(app, start, world.maya, n=7)
    refused = client.post(url, data=fields | choices | {"step": "book"})
    assert refused.status_code == 409
    assert "Session 3" in refused.text and "Nothing was booked" in refused.text
    again = chosen(refused.text)
    assert len(again) == 8 and again["session-3"] != choices["session-3"]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Course)) == 0


def test_tampered_and_invalid_plans_are_refused_and_book_nothing(client, app, staff, world):
    visit = assessment(app, world)
    sign_in(client, staff.reception)
    url = f"/staff/appointments/{visit}/course"
    fields = plan_fields(client.get(url).text)
    assert (
        client.post(url, data=fields | {"step": "book", "session-1": "x@nope"}).status_code == 400
    )
    assert client.post(url, data=fields | {"step": "book", "session-1": "1@20270309T1700"}
                       ).status_code == 400  # fmt: skip
    for bad in ({"sessions": "21"}, {"sessions": "eight"}, {"cadence_days": "0"},
                {"weekdays": []}, {"window_start": "15:00"}, {"service": "assessment"},
                {"therapist_id": "999"}, {"first_on": "2026-01-01"}):  # fmt: skip
        answer = propose(client, url, fields | bad)
        assert answer.status_code == 422, bad
        assert "error-summary" in answer.text or "field-error" in answer.text, bad
    none_chosen = client.post(url, data=fields | {"step": "book"} | {
        f"session-{n}": "later" for n in range(1, 9)})  # fmt: skip
    assert "Choose at least one visit" in none_chosen.text
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Course)) == 0


def test_a_therapist_plans_only_their_own_courses(client, app, staff, world):
    visit = assessment(app, world)
    other = book(app, local(TUESDAY, 13), world.daniel, n=2)
    sign_in(client, staff.maya)
    assert client.get(f"/staff/appointments/{other}/course").status_code == 403
    url = f"/staff/appointments/{visit}/course"
    page = client.get(url)
    assert "Daniel Okafor" not in page.text
    fields = plan_fields(page.text)
    assert propose(client, url, fields | {"therapist_id": str(world.daniel)}).status_code == 422
    choices = chosen(propose(client, url, fields).text)
    assert client.post(url, data=fields | choices | {"step": "book"}).status_code == 302


def test_adding_and_ending_sessions_from_the_course_page(client, app, staff, world):
    visit = assessment(app, world)
    sign_in(client, staff.reception)
    url = f"/staff/appointments/{visit}/course"
    fields = plan_fields(client.get(url).text) | {"sessions": "3"}
    booked = client.post(url, data=fields | chosen(propose(client, url, fields).text)
                         | {"step": "book"})  # fmt: skip
    course_url = booked.headers["Location"]
    page = client.get(course_url).text
    token = csrf_of(page)
    added = client.post(f"{course_url}/sessions", data={"csrf_token": token, "add-more": "2"})
    assert added.status_code == 302 and added.headers["Location"].endswith("/book")
    more = client.get(added.headers["Location"])
    more_fields = plan_fields(more.text)
    proposal = propose(client, added.headers["Location"], more_fields)
    picks = chosen(proposal.text)
    assert sorted(picks) == ["session-4", "session-5"]
    done = client.post(added.headers["Location"], data=more_fields | picks | {"step": "book"})
    assert done.status_code == 302
    assert "5 booked ahead" in client.get(course_url).text
    too_many = client.post(f"{course_url}/sessions", data={"csrf_token": token, "add-more": "16"})
    assert "At most 20 sessions" in client.get(too_many.headers["Location"]).text
    no_reason = client.post(f"{course_url}/end", data={"csrf_token": token, "end-reason": ""})
    assert no_reason.status_code == 422
    ended = client.post(f"{course_url}/end", data={"csrf_token": token,
                                                   "end-reason": "Pain gone"})  # fmt: skip
    assert ended.status_code == 302
    page = client.get(course_url).text
    assert "ended" in page and "Pain gone" in page and "End the course" not in page
    with app.app_context():
        actions = db.session.scalars(
            select(AuditEvent.action).where(AuditEvent.entity == "course").order_by(AuditEvent.id)
        ).all()
    assert actions == ["course_planned", "sessions_added", "sessions_booked", "course_ended"]
