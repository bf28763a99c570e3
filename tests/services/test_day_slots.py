"""`DaySlots` (a course's availability, one day at a time from one read of its span) offers
exactly what `find_slots` offers for each day: the busy times it hands the engine for a day
are never fewer than those that can block one of that day's slots, across midnight and
daylight-saving changes."""

from __future__ import annotations

from datetime import date, time, timedelta

import pytest
from support import NOW, details, local

from booking.models import Service
from booking.services import booking
from booking.services import catalog as catalogs
from booking.services.availability import DaySlots, find_slots
from booking.services.booking import BookingRequest

# Vancouver springs forward on Sunday 2027-03-14 and falls back on Sunday 2027-11-07; the
# horizon reaches the first only (NOW is 2027-03-01), so the fall is looked at from a later
# clock below.
SPRING = date(2027, 3, 14)
FALL = date(2027, 11, 7)
LATE = {day: [(time(6), time(23, 59))] for day in range(7)}


def _spans(app, world, days: list[date], now) -> tuple[list, list]:
    with app.app_context():
        catalog = catalogs.current()
        service = catalog.service("buffered")
        therapist = catalog.therapists[world.maya]
        span = DaySlots(catalog, service, [therapist], days[0], days[-1], now=now)
        daily = [span.on(day, therapist.id) for day in days]
        alone = [
            find_slots(catalog, service, day, day, now=now, therapists=[therapist]) for day in days
        ]
    return daily, alone


@pytest.mark.parametrize("around", [SPRING, FALL])
def test_each_day_offers_what_a_search_of_that_day_offers(app, world, clock, around):
    # 30 minutes and an hour's buffer: the day's last visits hold the therapist past midnight.
    world.services["buffered"] = buffered = Service(
        slug="buffered", name="Buffered visit", duration_minutes=30, buffer_minutes=60
    )
    world.add(buffered)
    world.maya = world.make_therapist("Maya Chen", hours=LATE, services=("physio", "buffered"))
    days = [around + timedelta(days=k) for k in range(-2, 3)]
    now = NOW if around == SPRING else local(date(2027, 10, 1), 9)
    clock.now = now
    # Busy across midnight and across the change of clocks, and late in the evening.
    world.time_off(world.maya, local(around - timedelta(days=1), 22), local(around, 4))
    world.time_off(world.maya, local(around, 23, 15), local(around + timedelta(days=1), 7))
    world.time_off(
        world.maya, local(around + timedelta(days=2), 0, 10), local(around + timedelta(days=2), 1)
    )
    with app.app_context():
        for k, hour in ((-2, 23), (-1, 6), (1, 22), (2, 12)):
            wanted = BookingRequest(
                "physio", local(around + timedelta(days=k), hour), details(k + 3),
                therapist_id=world.maya,
            )  # fmt: skip
            booking.book(wanted, now=now)
    daily, alone = _spans(app, world, days, now)
    assert any(daily)  # the days are bookable at all
    for day, offered, searched in zip(days, daily, alone, strict=True):
        assert [s.start for s in offered] == [s.start for s in searched], day
