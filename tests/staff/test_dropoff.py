"""The drop-off list: lapsed active courses, most lapsed first; "send next times" emails the
next free times with one-tap links, once a day at most, audited."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select
from staffing import account_id, csrf_of, sign_in
from support import MONDAY, NOW, details, local

from booking.extensions import db
from booking.models import Appointment, AuditEvent, Course, Event, OutboxMessage
from booking.services import booking, checkin
from booking.services.booking import BookingRequest
from booking.services.checkin import Mark

TUESDAY = MONDAY + timedelta(days=1)
LATER = local(MONDAY + timedelta(days=19), 8)  # Saturday 20 March


def held_course(app, world, therapist, n, day, *, status="active", done=True):
    """Patient `n`: a visit on `day` at 10:00 (completed), a session of a course of 8."""
    with app.app_context():
        visit = booking.book(
            BookingRequest("physio", local(day, 10), details(n), therapist_id=therapist), now=NOW
        ).appointment
    course = Course(patient_id=visit.patient_id, therapist_id=therapist, created_by="desk",
                    service_id=world.services["physio"].id, status=status, created_at=NOW,
                    ended_at=None if status == "active" else NOW,
                    end_reason="" if status == "active" else "moved away")  # fmt: skip
    world.add(course)
    with app.app_context():
        db.session.get(Appointment, visit.id).course_id = course.id
        db.session.commit()
        if done:
            checkin.mark(visit.id, Mark.COMPLETED, actor="desk", now=local(day, 11))
    return course.id, visit


@pytest.fixture
def lapsed(app, world, staff, clock):
    clock.now = LATER
    first = held_course(app, world, world.maya, 1, TUESDAY)
    second = held_course(app, world, world.daniel, 2, TUESDAY + timedelta(days=7))
    busy = held_course(app, world, world.maya, 3, TUESDAY + timedelta(days=2))
    with app.app_context():  # patient 3 has a visit booked ahead
        booking.book(
            BookingRequest("physio", local(MONDAY + timedelta(days=22), 10), details(3)), now=NOW
        )
    held_course(app, world, world.daniel, 4, TUESDAY, status="ended")
    return first, second, busy


def test_the_list_shows_lapsed_courses_most_lapsed_first(client, staff, lapsed):
    sign_in(client, staff.reception)
    page = client.get("/staff/courses/drop-off").text
    rows = re.findall(r"<tr>\s*<th scope=\"row\"><a [^>]*>([^<]+)</a></th>(.*?)</tr>", page, re.S)
    assert [name for name, _ in rows] == ["Pat Ient1", "Pat Ient2"]  # not 3 (booked), 4 (ended)
    assert "Maya Chen" in rows[0][1] and "1 of 8 done" in rows[0][1] and "18 days" in rows[0][1]
    assert "Daniel Okafor" in rows[1][1] and "11 days" in rows[1][1]
    assert 'href="/staff/courses/drop-off"' in page  # in the staff navigation


def test_send_next_times_is_queued_audited_and_once_a_day(client, app, staff, lapsed, clock):
    (course_id, visit), *_ = lapsed
    sign_in(client, staff.reception)
    page = client.get("/staff/courses/drop-off").text
    send = f"/staff/courses/{course_id}/next-times"
    response = client.post(send, data={"csrf_token": csrf_of(page)}, follow_redirects=True)
    assert "next free times are on their way" in response.text
    assert "Sent Saturday, March 20" in response.text
    again = client.post(send, data={"csrf_token": csrf_of(page)}, follow_redirects=True)
    assert "less than a day ago" in again.text
    with app.app_context():
        [row] = db.session.scalars(
            select(OutboxMessage).where(OutboxMessage.event == Event.NEXT_TIMES.value)
        ).all()
        assert row.appointment_id == visit.id and row.to_address == "patient1@example.com"
        [trail] = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "next_times_sent")
        ).all()
        assert (trail.entity, trail.entity_id, trail.actor) == (
            "course",
            course_id,
            f"staff:{account_id(app, staff.reception)}",
        )
    clock.advance(hours=25)
    sign_in(client, staff.reception)  # a day on: the staff session has ended
    page = client.get("/staff/courses/drop-off").text
    later = client.post(send, data={"csrf_token": csrf_of(page)}, follow_redirects=True)
    assert "next free times are on their way" in later.text


def test_a_course_with_a_visit_booked_is_refused(client, staff, lapsed):
    _, _, (busy_id, _) = lapsed
    sign_in(client, staff.reception)
    page = client.get("/staff/courses/drop-off").text
    response = client.post(
        f"/staff/courses/{busy_id}/next-times",
        data={"csrf_token": csrf_of(page)},
        follow_redirects=True,
    )
    assert "has a visit booked" in response.text
