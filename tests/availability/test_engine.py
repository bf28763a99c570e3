"""Boundary tables for the availability engine, on ordinary (non-DST) days."""

from collections.abc import Collection, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from booking.availability import (
    Interval,
    Policy,
    Schedule,
    Slot,
    bookable_slots,
    bookable_starts,
    working_windows,
)

ZONE = ZoneInfo("America/Vancouver")
MONDAY = date(2026, 6, 1)  # PDT, UTC-7, far from any transition
TUESDAY = MONDAY + timedelta(days=1)
WEDNESDAY = MONDAY + timedelta(days=2)
NOW = datetime(2026, 5, 1, tzinfo=UTC)
NINE_TO_FIVE = {weekday: [(time(9), time(17))] for weekday in range(7)}


def at(day: date, hour: int, minute: int = 0) -> datetime:
    """Return the aware UTC instant of a local wall time in the clinic's zone."""
    return datetime.combine(day, time(hour, minute), tzinfo=ZONE).astimezone(UTC)


def minutes(value: int) -> timedelta:
    """Return a timedelta of `value` minutes."""
    return timedelta(minutes=value)


def starts(
    *,
    hours: Mapping[int, Sequence[tuple[time, time]]] = NINE_TO_FIVE,
    busy: Sequence[Interval] = (),
    time_off: Sequence[Interval] = (),
    schedule_last_day: date | None = None,
    duration: int = 30,
    buffer: int = 0,
    step: int = 15,
    notice: timedelta = timedelta(0),
    horizon: timedelta = timedelta(days=365),
    now: datetime = NOW,
    first_day: date = MONDAY,
    last_day: date = MONDAY,
    closures: Collection[date] = (),
) -> list[datetime]:
    """Return bookable starts for one therapist with test defaults."""
    schedule = Schedule(1, hours, time_off=time_off, busy=busy, last_day=schedule_last_day)
    return bookable_starts(
        schedule,
        duration=minutes(duration),
        buffer=minutes(buffer),
        first_day=first_day,
        last_day=last_day,
        zone=ZONE,
        closures=closures,
        policy=Policy(step=minutes(step), notice=notice, horizon=horizon),
        now=now,
    )


def local_times(result: Sequence[datetime]) -> list[str]:
    """Return each instant as local 'HH:MM' for readable assertions."""
    return [s.astimezone(ZONE).strftime("%H:%M") for s in result]


@pytest.mark.parametrize("kind", ["busy", "time_off"])
@pytest.mark.parametrize(
    ("blocked", "start", "bookable"),
    [
        # A 09:20 visit of 30 minutes plus a 10-minute buffer occupies [09:20, 10:00).
        pytest.param((10, 0, 11, 0), (9, 20), True, id="buffer-ends-at-next-start"),
        pytest.param((9, 59, 11, 0), (9, 20), False, id="buffer-overlaps-by-1-minute"),
        pytest.param((9, 55, 9, 56), (9, 20), False, id="blocked-inside-buffer-only"),
        pytest.param((9, 40, 9, 45), (9, 20), False, id="blocked-inside-visit"),
        pytest.param((8, 0, 9, 20), (9, 20), True, id="starts-at-blocked-end"),
        pytest.param((8, 0, 9, 21), (9, 20), False, id="starts-1-minute-before-blocked-end"),
        pytest.param((9, 0, 9, 20), (9, 15), False, id="starts-inside-blocked"),
        pytest.param((8, 0, 12, 0), (9, 20), False, id="blocked-covers-all"),
    ],
)
def test_half_open_blocked_boundaries(
    kind: str, blocked: tuple[int, int, int, int], start: tuple[int, int], bookable: bool
) -> None:
    interval = Interval(at(MONDAY, *blocked[:2]), at(MONDAY, *blocked[2:]))
    result = starts(**{kind: [interval]}, duration=30, buffer=10, step=5)
    assert (at(MONDAY, *start) in result) is bookable


@pytest.mark.parametrize(
    ("busy", "last"),
    [
        pytest.param((), "16:30", id="buffer-runs-past-window-end"),
        pytest.param(((17, 10, 18, 0),), "16:30", id="busy-after-buffer"),
        pytest.param(((17, 9, 18, 0),), "16:15", id="busy-under-buffer-past-window"),
    ],
)
def test_buffer_past_window_end(busy: tuple[tuple[int, int, int, int], ...], last: str) -> None:
    intervals = [Interval(at(MONDAY, h0, m0), at(MONDAY, h1, m1)) for h0, m0, h1, m1 in busy]
    result = starts(busy=intervals, duration=30, buffer=10)
    assert local_times(result)[-1] == last


def test_no_slot_crosses_lunch() -> None:
    hours = {0: [(time(8), time(12)), (time(13), time(17))]}
    result = starts(hours=hours, duration=60, step=30)
    assert local_times(result) == [
        *("08:00", "08:30", "09:00", "09:30", "10:00", "10:30", "11:00"),
        *("13:00", "13:30", "14:00", "14:30", "15:00", "15:30", "16:00"),
    ]


def test_windows_touching_are_not_merged() -> None:
    hours = {0: [(time(9), time(10)), (time(10), time(11))]}
    result = starts(hours=hours, duration=60, step=30)
    assert local_times(result) == ["09:00", "10:00"]


def test_overlapping_windows_offer_each_start_once() -> None:
    hours = {0: [(time(9), time(11)), (time(9, 10), time(10)), (time(9), time(10))]}
    result = starts(hours=hours, duration=30, step=30)
    assert local_times(result) == ["09:00", "09:10", "09:30", "10:00", "10:30"]


def test_closures_skip_whole_days() -> None:
    result = starts(first_day=MONDAY, last_day=WEDNESDAY, closures={TUESDAY})
    days = {s.astimezone(ZONE).date() for s in result}
    assert days == {MONDAY, WEDNESDAY}


def test_time_off_part_day() -> None:
    off = Interval(at(MONDAY, 12), at(MONDAY, 14))
    result = starts(time_off=[off], duration=60, step=60)
    assert local_times(result) == ["09:00", "10:00", "11:00", "14:00", "15:00", "16:00"]


def test_time_off_multi_day() -> None:
    off = Interval(at(MONDAY, 15), at(WEDNESDAY, 10))
    result = starts(time_off=[off], duration=60, step=60, last_day=WEDNESDAY)
    by_day = [
        (s.astimezone(ZONE).date(), t) for s, t in zip(result, local_times(result), strict=True)
    ]
    assert by_day == [
        *((MONDAY, t) for t in ("09:00", "10:00", "11:00", "12:00", "13:00", "14:00")),
        *((WEDNESDAY, t) for t in ("10:00", "11:00", "12:00", "13:00", "14:00", "15:00", "16:00")),
    ]


def test_overlapping_busy_and_time_off_are_merged() -> None:
    busy = [Interval(at(MONDAY, 10), at(MONDAY, 11)), Interval(at(MONDAY, 9), at(MONDAY, 10))]
    off = [Interval(at(MONDAY, 10, 30), at(MONDAY, 12)), Interval(at(MONDAY, 12), at(MONDAY, 13))]
    result = starts(busy=busy, time_off=off, duration=60, step=60)
    assert local_times(result) == ["13:00", "14:00", "15:00", "16:00"]


@pytest.mark.parametrize(
    ("now", "notice", "first"),
    [
        pytest.param(at(MONDAY, 8), timedelta(hours=1), "09:00", id="start-equals-now-plus-notice"),
        pytest.param(at(MONDAY, 8, 1), timedelta(hours=1), "09:15", id="one-minute-short"),
        pytest.param(at(MONDAY, 9, 15), timedelta(0), "09:15", id="no-notice-on-grid"),
        pytest.param(at(MONDAY, 9, 16), timedelta(0), "09:30", id="off-grid-rounds-up"),
        pytest.param(at(MONDAY, 7), timedelta(minutes=135), "09:15", id="notice-refuses-09:00"),
    ],
)
def test_notice_boundary(now: datetime, notice: timedelta, first: str) -> None:
    assert local_times(starts(now=now, notice=notice))[0] == first


@pytest.mark.parametrize(
    ("horizon_end", "last"),
    [
        pytest.param(at(MONDAY, 16), "15:45", id="start-equals-now-plus-horizon-refused"),
        pytest.param(
            at(MONDAY, 16) + timedelta(microseconds=1), "16:00", id="one-microsecond-more"
        ),
        pytest.param(at(MONDAY, 15, 59), "15:45", id="off-grid"),
        pytest.param(at(MONDAY, 18), "16:30", id="beyond-window"),
    ],
)
def test_horizon_boundary(horizon_end: datetime, last: str) -> None:
    assert local_times(starts(horizon=horizon_end - NOW))[-1] == last


def test_horizon_before_window_gives_nothing() -> None:
    assert starts(horizon=at(MONDAY, 9) - NOW) == []


def test_now_in_another_zone_is_accepted() -> None:
    now = at(MONDAY, 12).astimezone(ZoneInfo("Asia/Tokyo"))
    assert local_times(starts(now=now))[0] == "12:00"


@pytest.mark.parametrize(
    ("schedule_last_day", "expected_days"),
    [
        pytest.param(None, {MONDAY, TUESDAY, WEDNESDAY}, id="unset"),
        pytest.param(TUESDAY, {MONDAY, TUESDAY}, id="inclusive"),
        pytest.param(MONDAY - timedelta(days=1), set(), id="already-lapsed"),
        pytest.param(date(2027, 1, 1), {MONDAY, TUESDAY, WEDNESDAY}, id="after-range"),
    ],
)
def test_schedule_last_day(schedule_last_day: date | None, expected_days: set[date]) -> None:
    result = starts(schedule_last_day=schedule_last_day, last_day=WEDNESDAY)
    assert {s.astimezone(ZONE).date() for s in result} == expected_days


@pytest.mark.parametrize(
    ("step", "expected"),
    [
        (15, ["09:10", "09:25", "09:40", "09:55"]),
        (20, ["09:10", "09:30", "09:50"]),
        (30, ["09:10", "09:40"]),
    ],
)
def test_step_is_anchored_at_window_start(step: int, expected: list[str]) -> None:
    hours = {0: [(time(9, 10), time(10, 30))]}
    assert local_times(starts(hours=hours, duration=30, step=step)) == expected


def test_empty_hours_give_no_slots() -> None:
    assert starts(hours={}) == []
    assert starts(hours={0: []}) == []
    assert starts(hours={1: [(time(9), time(17))]}) == []  # Tuesday only, asked for Monday


def test_window_shorter_than_service_gives_no_slots() -> None:
    assert starts(hours={0: [(time(9), time(9, 29))]}, duration=30) == []


def test_first_day_after_last_day_gives_nothing() -> None:
    assert starts(first_day=TUESDAY, last_day=MONDAY) == []


def test_starts_are_aware_utc() -> None:
    result = starts(now=NOW.astimezone(ZONE))
    assert result
    assert all(s.tzinfo is UTC for s in result)


def test_slots_of_several_schedules_are_sorted_by_start_then_therapist() -> None:
    hours = {0: [(time(9), time(10))]}
    busy_9 = [Interval(at(MONDAY, 9), at(MONDAY, 9, 30))]
    schedules = [
        Schedule(7, hours),
        Schedule(3, hours, busy=busy_9),
        Schedule(5, {0: [(time(9, 30), time(10, 30))]}),
    ]
    slots = bookable_slots(
        schedules,
        duration=minutes(30),
        buffer=minutes(15),
        first_day=MONDAY,
        last_day=MONDAY,
        zone=ZONE,
        closures=(),
        policy=Policy(step=minutes(30), notice=timedelta(0), horizon=timedelta(days=60)),
        now=NOW,
    )
    assert slots == [
        Slot(at(MONDAY, 9), 7, at(MONDAY, 9, 30)),
        Slot(at(MONDAY, 9, 30), 3, at(MONDAY, 10)),
        Slot(at(MONDAY, 9, 30), 5, at(MONDAY, 10)),
        Slot(at(MONDAY, 9, 30), 7, at(MONDAY, 10)),
        Slot(at(MONDAY, 10), 5, at(MONDAY, 10, 30)),
    ]
    assert slots == sorted(slots)


def test_slots_of_no_schedules() -> None:
    policy = Policy(step=minutes(15), notice=timedelta(0), horizon=timedelta(days=1))
    slots = bookable_slots(
        [],
        duration=minutes(30),
        buffer=timedelta(0),
        first_day=MONDAY,
        last_day=MONDAY,
        zone=ZONE,
        closures=(),
        policy=policy,
        now=NOW,
    )
    assert slots == []


@pytest.mark.parametrize(
    ("hours", "expected"),
    [
        pytest.param({}, [], id="no-hours"),
        pytest.param({0: [(time(9), time(17))]}, [((9, 0), (17, 0))], id="one-window"),
        pytest.param(
            {0: [(time(13), time(17)), (time(8), time(12))]},
            [((8, 0), (12, 0)), ((13, 0), (17, 0))],
            id="sorted-by-start",
        ),
        pytest.param({0: [(time(12), time(12))]}, [], id="empty-window-skipped"),
        pytest.param({0: [(time(17), time(9))]}, [], id="reversed-window-skipped"),
    ],
)
def test_working_windows(
    hours: Mapping[int, Sequence[tuple[time, time]]],
    expected: list[tuple[tuple[int, int], tuple[int, int]]],
) -> None:
    windows = working_windows(hours, MONDAY, ZONE)
    assert windows == [Interval(at(MONDAY, *a), at(MONDAY, *b)) for a, b in expected]
    assert all(w.start.tzinfo is UTC and w.end.tzinfo is UTC for w in windows)


def test_working_windows_are_utc_instants() -> None:
    (window,) = working_windows({0: [(time(9), time(17))]}, MONDAY, ZONE)
    assert window == Interval(
        datetime(2026, 6, 1, 16, tzinfo=UTC), datetime(2026, 6, 2, tzinfo=UTC)
    )


NAIVE = datetime(2026, 6, 1, 12)
AWARE = NAIVE.replace(tzinfo=UTC)


@pytest.mark.parametrize(
    "overrides",
    [
        pytest.param({"now": NAIVE}, id="now"),
        pytest.param({"busy": [Interval(NAIVE, AWARE)]}, id="busy-start"),
        pytest.param({"busy": [Interval(AWARE, NAIVE + timedelta(hours=1))]}, id="busy-end"),
        pytest.param({"time_off": [Interval(NAIVE, AWARE)]}, id="time-off-start"),
        pytest.param({"time_off": [Interval(AWARE, NAIVE)]}, id="time-off-end"),
    ],
)
def test_naive_datetimes_are_refused(overrides: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="aware"):
        starts(**overrides)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "overrides",
    [
        pytest.param({"step": 0}, id="zero-step"),
        pytest.param({"step": -15}, id="negative-step"),
        pytest.param({"duration": 0}, id="zero-duration"),
        pytest.param({"buffer": -5}, id="negative-buffer"),
    ],
)
def test_degenerate_policy_is_refused(overrides: dict[str, int]) -> None:
    with pytest.raises(ValueError, match="positive"):
        starts(**overrides)  # type: ignore[arg-type]
