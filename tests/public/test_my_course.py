"""The patient's course of care in My visits: how far along, and each visit in plain words."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from pages import open_my_visits
from support import MONDAY, NOW, local, person

from booking.extensions import db
from booking.models import Course, CourseStatus, Source
from booking.services import booking, checkin
from booking.services.booking import BookingRequest
from booking.services.checkin import Mark

DAY = timedelta(days=1)
ANN = "ann.gill@example.com"
NINE = "2027, 9:00 a.m. (Pacific time)"  # how My visits writes a time


@pytest.fixture
def maya(world):
    return world.make_therapist("Maya Chen")


def someone(world, name, email):
    row = person(name, email)
    world.add(row)
    return row.id


def course(world, patient_id, therapist_id, *, sessions=4, ended=None):
    status = CourseStatus.ACTIVE if ended is None else CourseStatus.ENDED
    row = Course(
        patient_id=patient_id,
        therapist_id=therapist_id,
        service_id=world.services["physio"].id,
        sessions=sessions,
        created_by="reception",
        created_at=NOW - 30 * DAY,
        status=status.value,
        ended_at=ended,
    )
    world.add(row)
    return row.id


def visit(app, course_id, patient_id, therapist_id, start, *, now=NOW):
    request = BookingRequest(
        "physio", start, person_id=patient_id, therapist_id=therapist_id,
        source=Source.STAFF, course_id=course_id, skip_notice=True, override_reason="test",
    )  # fmt: skip
    with app.app_context():
        return booking.book(request, now=now, actor="reception").appointment.id


def section(page: str, course_id: int) -> str:
    start = page.index(f'<section class="course" aria-labelledby="course-{course_id}">')
    return page[start : page.index("</section>", start)]


def words(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", html)).strip()


def test_my_visits_shows_the_course_and_each_visit_in_words(app, client, clock, world, maya):
    ann = someone(world, "Ann Gill", ANN)
    c = course(world, ann, maya, sessions=5)
    done = visit(app, c, ann, maya, local(MONDAY + DAY, 9))
    missed = visit(app, c, ann, maya, local(MONDAY + 3 * DAY, 9))
    dropped = visit(app, c, ann, maya, local(MONDAY + 8 * DAY, 9))
    with app.app_context():
        checkin.mark(done, Mark.COMPLETED, actor="reception", now=local(MONDAY + DAY, 10))
        checkin.mark(missed, Mark.NO_SHOW, actor="reception", now=local(MONDAY + 3 * DAY, 10))
        booking.cancel(dropped, now=NOW + 4 * DAY, actor="reception", enforce_cutoff=False)
    visit(app, c, ann, maya, local(MONDAY + 10 * DAY, 9), now=NOW + 5 * DAY)
    clock.now = NOW + 5 * DAY
    page = open_my_visits(client, app, ANN)
    block = section(page, c)
    assert f'<h3 id="course-{c}">Course of care: 1 of 5 done</h3>' in block
    assert "5 sessions planned with Maya Chen. 1 booked ahead. 3 still to book." in words(block)
    lines = [words(li) for li in re.findall(r"<li class=\"visit\">(.*?)</li>", block, re.S)]
    assert lines == [
        f"Session 1: Physiotherapy assessment, Tuesday, March 2, {NINE}: done",
        f"Session 2: Physiotherapy assessment, Thursday, March 4, {NINE}: missed",
        f"Physiotherapy assessment, Tuesday, March 9, {NINE}: cancelled, "
        f"replaced by the visit on Thursday, March 11, {NINE}",
        f"Session 3: Physiotherapy assessment, Thursday, March 11, {NINE}: coming up",
    ]
    # The course sits in Ann's own section, under a heading of its own.
    assert page.index('<h2 id="person-') < page.index(block) < page.index("<h3>Coming up</h3>")


def test_a_recently_ended_course_shows_an_old_one_and_other_households_do_not(
    app, client, world, maya
):
    ann = someone(world, "Ann Gill", ANN)
    ben = someone(world, "Ben Roy", "ben@example.com")
    ended = course(world, ann, maya, sessions=8, ended=NOW - 10 * DAY)
    old = course(world, ann, maya, sessions=8, ended=NOW - 200 * DAY)
    theirs = course(world, ben, maya, sessions=6)
    page = open_my_visits(client, app, ANN)
    assert "Course of care: 0 of 8 done" in section(page, ended)
    assert "This course has ended." in section(page, ended)
    assert f'aria-labelledby="course-{old}"' not in page
    assert f'aria-labelledby="course-{theirs}"' not in page and "0 of 6 done" not in page


def test_a_completed_course_says_so(app, client, world, maya):
    ann = someone(world, "Ann Gill", ANN)
    c = course(world, ann, maya, sessions=1)
    only = visit(app, c, ann, maya, local(MONDAY + DAY, 9))
    with app.app_context():
        checkin.mark(only, Mark.COMPLETED, actor="reception", now=local(MONDAY + DAY, 10))
        assert db.session.get(Course, c).status == CourseStatus.COMPLETED
    page = open_my_visits(client, app, ANN)
    assert "Course of care: 1 of 1 done" in page
    assert "Completed: every planned session took place." in words(section(page, c))


def test_a_person_without_a_course_sees_no_course(app, client, world, maya):
    ann = someone(world, "Ann Gill", ANN)
    visit(app, None, ann, maya, local(MONDAY + DAY, 9))
    page = open_my_visits(client, app, ANN)
    assert "Physiotherapy assessment</strong>, Tuesday, March 2" in page
    assert "Course of care" not in page and 'class="course"' not in page
