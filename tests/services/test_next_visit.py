"""The next visit one tap books: same therapist, weekday and wall clock, one cadence step on."""

from __future__ import annotations

from datetime import timedelta

import pytest
from support import MONDAY, NOW, VANCOUVER, details, local, screening_for

from booking.models import Course, Source
from booking.services import booking, checkin
from booking.services import catalog as catalogs
from booking.services.booking import BookingRequest
from booking.services.checkin import Mark
from booking.services.courses.next_visit import suggest

TUESDAY = MONDAY + timedelta(days=1)


@pytest.fixture
def maya(world):
    return world.make_therapist("Maya Chen")


def book(app, service, start, therapist, n=1, *, now=NOW, course_id=None, person_id=None):
    with app.app_context():
        request = BookingRequest(
            service,
            start,
            None if person_id else details(n),
            therapist_id=therapist,
            screening=screening_for(service),
            course_id=course_id,
            person_id=person_id,
            source=Source.STAFF if person_id else Source.ONLINE,
        )
        visit = booking.book(request, now=now, actor="desk").appointment
        return visit.id, visit.patient_id


def completed(app, appointment_id, at):
    with app.app_context():
        checkin.mark(appointment_id, Mark.COMPLETED, actor="desk", now=at)


def suggestion(app, person_id, now, count=1):
    with app.app_context():
        return suggest(catalogs.current(), person_id, now=now, count=count)


def course(world, person_id, therapist, service, *, cadence=7, sessions=8):
    row = Course(
        patient_id=person_id,
        therapist_id=therapist,
        service_id=world.services[service].id,
        sessions=sessions,
        cadence_days=cadence,
        created_by="desk",
    )
    world.add(row)
    return row.id


def test_a_week_on_at_the_same_time_with_the_same_therapist(app, maya):
    visit, person = book(app, "physio", local(TUESDAY, 10), maya)
    after = local(TUESDAY, 11)
    completed(app, visit, after)
    found = suggestion(app, person, after)
    assert found.wanted == local(TUESDAY + timedelta(days=7), 10)
    assert found.start == found.wanted and found.exact
    assert found.therapist.id == maya and found.service.slug == "physio"
    assert found.after_id == visit and found.course_id is None


def test_after_an_assessment_the_next_visit_is_its_follow_up(app, maya):
    visit, person = book(app, "assessment", local(TUESDAY, 10), maya)
    completed(app, visit, local(TUESDAY, 11))
    found = suggestion(app, person, local(TUESDAY, 11))
    assert found.service.slug == "follow-up"


def test_nothing_is_offered_outside_a_course_while_a_visit_is_booked(app, maya):
    _, person = book(app, "physio", local(TUESDAY, 10), maya)
    assert suggestion(app, person, NOW) is None


def test_a_course_steps_by_its_cadence_even_with_a_visit_booked(app, world, maya):
    _, person = book(app, "physio", local(TUESDAY, 10), maya)
    course_id = course(world, person, maya, "physio", cadence=3)
    book(app, "physio", local(TUESDAY + timedelta(days=3), 10), maya,
         course_id=course_id, person_id=person)  # fmt: skip
    found = suggestion(app, person, NOW)
    assert found.course_id == course_id
    assert found.start == local(TUESDAY + timedelta(days=6), 10)  # Friday's visit, 3 days on


def test_a_course_with_every_session_booked_offers_nothing(app, world, maya):
    _, person = book(app, "physio", local(TUESDAY, 10), maya)
    course_id = course(world, person, maya, "physio", sessions=1)
    book(app, "physio", local(TUESDAY + timedelta(days=7), 10), maya,
         course_id=course_id, person_id=person)  # fmt: skip
    assert suggestion(app, person, NOW) is None


def test_the_wall_clock_is_kept_across_the_change_to_summer_time(app, maya, clock):
    # Tuesday 9 March 2027 is PST (UTC-8); a week on, 16 March, is PDT (UTC-7).
    start = local(MONDAY + timedelta(days=8), 10)
    visit, person = book(app, "physio", start, maya)
    completed(app, visit, start + timedelta(hours=1))
    found = suggestion(app, person, start + timedelta(hours=1))
    shown = found.start.astimezone(VANCOUVER)
    assert (shown.date(), shown.hour, shown.minute) == (MONDAY + timedelta(days=15), 10, 0)
    assert found.start - start == timedelta(days=7, hours=-1)  # one hour less in UTC


def test_a_taken_time_gives_the_nearest_free_one(app, maya):
    visit, person = book(app, "physio", local(TUESDAY, 10), maya)
    completed(app, visit, local(TUESDAY, 11))
    next_week = TUESDAY + timedelta(days=7)
    book(app, "physio", local(next_week, 10), maya, n=2)  # someone else took the time
    found = suggestion(app, person, local(TUESDAY, 11), count=3)
    assert not found.exact and found.start != found.wanted
    assert local(next_week, 10) not in found.times and len(found.times) == 3
    assert found.start in (local(next_week, 9), local(next_week, 10, 45))  # either side
    assert all(abs(t - found.wanted) >= abs(found.start - found.wanted) for t in found.times)


def test_nothing_free_within_the_booking_horizon_is_said(app, world, maya):
    visit, person = book(app, "physio", local(TUESDAY, 10), maya)
    completed(app, visit, local(TUESDAY, 11))
    world.time_off(maya, local(TUESDAY, 12), local(TUESDAY + timedelta(days=400), 12))
    found = suggestion(app, person, local(TUESDAY, 11))
    assert found is not None and found.start is None and found.times == ()
