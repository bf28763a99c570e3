"""The availability engine on the real DST transition days of America/Vancouver."""

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from booking.availability import Interval, Policy, Schedule, bookable_starts, working_windows

ZONE = ZoneInfo("America/Vancouver")
PST = timedelta(hours=-8)
PDT = timedelta(hours=-7)
SPRING_FORWARD = [date(2026, 3, 8), date(2027, 3, 14)]  # 02:00 PST -> 03:00 PDT
FALL_BACK = [date(2026, 11, 1), date(2027, 11, 7)]  # 02:00 PDT -> 01:00 PST
ONE_DAY = timedelta(days=1)
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def every_day(start: time, end: time) -> dict[int, list[tuple[time, time]]]:
    """Return weekly hours with the same single window on all seven days."""
    return {weekday: [(start, end)] for weekday in range(7)}


def starts(
    hours: Mapping[int, Sequence[tuple[time, time]]],
    first_day: date,
    last_day: date | None = None,
    *,
    duration: int = 30,
    busy: Sequence[Interval] = (),
) -> list[datetime]:
    """Return bookable starts at a 15-minute step with no buffer, notice or horizon limits."""
    return bookable_starts(
        Schedule(1, hours, busy=busy),
        duration=timedelta(minutes=duration),
        buffer=timedelta(0),
        first_day=first_day,
        last_day=last_day or first_day,
        zone=ZONE,
        closures=(),
        policy=Policy(
            step=timedelta(minutes=15), notice=timedelta(0), horizon=timedelta(days=3650)
        ),
        now=NOW,
    )


def local(result: Sequence[datetime]) -> list[datetime]:
    """Return each instant in the clinic's zone."""
    return [s.astimezone(ZONE) for s in result]


def wall(result: Sequence[datetime]) -> list[str]:
    """Return each instant as a local 'HH:MM' string."""
    return [s.strftime("%H:%M") for s in local(result)]


@pytest.mark.parametrize("day", SPRING_FORWARD + FALL_BACK)
def test_the_dates_are_real_transitions(day: date) -> None:
    before = datetime.combine(day, time(0), tzinfo=ZONE).utcoffset()
    after = datetime.combine(day, time(12), tzinfo=ZONE).utcoffset()
    assert (before, after) == ((PST, PDT) if day in SPRING_FORWARD else (PDT, PST))


@pytest.mark.parametrize("day", SPRING_FORWARD)
def test_spring_forward_office_hours(day: date) -> None:
    result = starts(every_day(time(9), time(17)), day)
    local_starts = local(result)
    assert wall(result)[0] == "09:00"
    assert wall(result)[-1] == "16:30"
    assert all(s.utcoffset() == PDT for s in local_starts)
    # 09:00 to 16:30 inclusive at 15 minutes, the same as any ordinary day.
    assert len(result) == 31
    assert len(starts(every_day(time(9), time(17)), day - ONE_DAY)) == 31
    assert len(starts(every_day(time(9), time(17)), day + ONE_DAY)) == 31


@pytest.mark.parametrize("day", SPRING_FORWARD)
def test_spring_forward_night_has_no_missing_hour(day: date) -> None:
    result = starts(every_day(time(0), time(6)), day, duration=15)
    local_starts = local(result)
    assert local_starts
    assert all(s.hour != 2 for s in local_starts)
    # The wall time read back in the zone names the very same instant.
    for instant, s in zip(result, local_starts, strict=True):
        assert s.replace(tzinfo=None).replace(tzinfo=ZONE).astimezone(UTC) == instant
    # 00:00 PST to 06:00 PDT is five real hours.
    assert len(result) == 5 * 4
    assert len(set(result)) == len(result)


@pytest.mark.parametrize("day", SPRING_FORWARD)
def test_spring_forward_window_starting_in_the_gap(day: date) -> None:
    # 02:30 does not exist; with fold=0 zoneinfo reads it at PST, which is 03:30 PDT.
    result = starts(every_day(time(2, 30), time(5)), day, duration=30)
    assert wall(result) == ["03:30", "03:45", "04:00", "04:15", "04:30"]


@pytest.mark.parametrize("day", FALL_BACK)
def test_fall_back_night_offers_each_instant_once(day: date) -> None:
    result = starts(every_day(time(0), time(4)), day, duration=15)
    assert len(set(result)) == len(result)
    assert result == sorted(result)
    # 00:00 PDT to 04:00 PST is five real hours, and 01:xx appears in both offsets.
    assert len(result) == 5 * 4
    ones = [s for s in local(result) if s.hour == 1]
    assert len(ones) == 8
    assert {s.utcoffset() for s in ones} == {PDT, PST}
    for instant, s in zip(result, local(result), strict=True):
        naive = s.replace(tzinfo=None)
        assert naive.replace(tzinfo=ZONE, fold=s.fold).astimezone(UTC) == instant


@pytest.mark.parametrize("day", FALL_BACK)
def test_fall_back_office_hours(day: date) -> None:
    result = starts(every_day(time(9), time(17)), day)
    assert wall(result) == [f"{h:02}:{m:02}" for h in range(9, 17) for m in (0, 15, 30, 45)][:31]
    assert all(s.utcoffset() == PST for s in local(result))
    assert result[0] == datetime.combine(day, time(17), tzinfo=UTC)


@pytest.mark.parametrize("day", SPRING_FORWARD + FALL_BACK)
def test_week_across_transition_keeps_local_times(day: date) -> None:
    first_day, last_day = day - 3 * ONE_DAY, day + 3 * ONE_DAY
    result = starts(every_day(time(9), time(17)), first_day, last_day)
    by_day: dict[date, list[str]] = {}
    for s in local(result):
        by_day.setdefault(s.date(), []).append(s.strftime("%H:%M"))
    assert sorted(by_day) == [first_day + k * ONE_DAY for k in range(7)]
    assert all(times == by_day[day] for times in by_day.values())
    assert len(by_day[day]) == 31


@pytest.mark.parametrize("day", SPRING_FORWARD + FALL_BACK)
def test_working_windows_on_transition_days(day: date) -> None:
    (window,) = working_windows(every_day(time(0), time(4)), day, ZONE)
    hours = (window.end - window.start) / timedelta(hours=1)
    assert hours == (3 if day in SPRING_FORWARD else 5)


@pytest.mark.parametrize("day", FALL_BACK)
def test_busy_given_in_local_zone_across_fall_back(day: date) -> None:
    # Two ZoneInfo datetimes compare by wall clock, so 01:10 PST would sort before 01:30 PDT
    # although it is 40 minutes later; the engine must compare instants.
    first = Interval(
        datetime.combine(day, time(1, 30), tzinfo=ZONE),
        datetime.combine(day, time(1, 45), tzinfo=ZONE),
    )
    second = Interval(
        datetime.combine(day, time(1, 10), tzinfo=ZONE).replace(fold=1),
        datetime.combine(day, time(1, 20), tzinfo=ZONE).replace(fold=1),
    )
    result = starts(every_day(time(0), time(4)), day, duration=15, busy=[second, first])
    utc_midnight = datetime.combine(day, time(0), tzinfo=UTC)
    refused = {utc_midnight + timedelta(hours=h, minutes=m) for h, m in [(8, 30), (9, 0), (9, 15)]}
    everything = {utc_midnight + timedelta(hours=7, minutes=15 * k) for k in range(20)}
    assert result == sorted(everything - refused)


@pytest.mark.parametrize("day", SPRING_FORWARD)
def test_horizon_is_elapsed_time_across_spring_forward(day: date) -> None:
    # A day of horizon from 09:00 PST ends at 10:00 PDT: 24 real hours, not the same wall time.
    now = datetime.combine(day - ONE_DAY, time(9), tzinfo=ZONE)
    result = bookable_starts(
        Schedule(1, every_day(time(9), time(17))),
        duration=timedelta(minutes=30),
        buffer=timedelta(0),
        first_day=day,
        last_day=day,
        zone=ZONE,
        closures=(),
        policy=Policy(step=timedelta(minutes=15), notice=timedelta(0), horizon=ONE_DAY),
        now=now,
    )
    assert wall(result) == ["09:00", "09:15", "09:30", "09:45"]
