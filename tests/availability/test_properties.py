"""Property tests: the engine agrees with a plain brute-force reference on random inputs."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from booking.availability import Interval, Policy, Schedule, Slot, bookable_slots, bookable_starts

ZONE = ZoneInfo("America/Vancouver")
ONE_DAY = timedelta(days=1)
TRANSITIONS = [date(2026, 3, 8), date(2026, 11, 1), date(2027, 3, 14), date(2027, 11, 7)]
# Zones that intervals and `now` may arrive in; the engine must compare instants, not wall times.
INPUT_ZONES = [UTC, ZONE, ZoneInfo("Asia/Kolkata")]

Hours = Mapping[int, Sequence[tuple[time, time]]]


@dataclass(frozen=True)
class Case:
    """One generated request for one therapist."""

    schedule: Schedule
    duration: timedelta
    buffer: timedelta
    first_day: date
    last_day: date
    closures: frozenset[date]
    policy: Policy
    now: datetime

    def kwargs(self) -> dict[str, object]:
        """Return the keyword arguments shared by the engine and the reference."""
        return {
            "duration": self.duration,
            "buffer": self.buffer,
            "first_day": self.first_day,
            "last_day": self.last_day,
            "zone": ZONE,
            "closures": self.closures,
            "policy": self.policy,
            "now": self.now,
        }


def grid_time(index: int) -> time:
    """Return the wall time of a 15-minute grid index (0 is 00:00, 95 is 23:45)."""
    return time(index // 4, index % 4 * 15)


windows = st.tuples(st.integers(0, 95), st.integers(0, 95)).map(
    lambda pair: (grid_time(min(pair)), grid_time(max(pair)))
)
weekly_hours = st.fixed_dictionaries(
    {weekday: st.lists(windows, max_size=3) for weekday in range(7)}
)
first_days = st.one_of(
    st.dates(date(2026, 1, 1), date(2027, 12, 31)),
    st.tuples(st.sampled_from(TRANSITIONS), st.integers(-10, 3)).map(
        lambda pair: pair[0] + pair[1] * ONE_DAY
    ),
)


@st.composite
def instants(draw: st.DrawFn, base: datetime, span: timedelta) -> datetime:
    """Draw an instant in [base, base + span) on a minute, in a random zone."""
    offset = draw(st.integers(0, int(span / timedelta(minutes=1)) - 1))
    return (base + timedelta(minutes=offset)).astimezone(draw(st.sampled_from(INPUT_ZONES)))


@st.composite
def intervals(draw: st.DrawFn, base: datetime, span: timedelta, longest: timedelta) -> Interval:
    """Draw a non-empty interval starting in [base, base + span)."""
    start = draw(instants(base, span))
    length = draw(st.integers(1, int(longest / timedelta(minutes=1))))
    return Interval(start, start + timedelta(minutes=length))


@st.composite
def cases(draw: st.DrawFn, therapist_id: int = 1) -> Case:
    """Draw one therapist's schedule and a request around a random range of 1-14 days."""
    first_day = draw(first_days)
    n_days = draw(st.integers(1, 14))
    last_day = first_day + (n_days - 1) * ONE_DAY
    base = datetime.combine(first_day - ONE_DAY, time(0), tzinfo=UTC)
    span = (n_days + 2) * ONE_DAY
    busy = draw(st.lists(intervals(base, span, timedelta(hours=8)), max_size=10))
    time_off = draw(st.lists(intervals(base, span, timedelta(days=3)), max_size=3))
    offsets = draw(st.sets(st.integers(0, n_days - 1), max_size=3))
    last_offset = draw(st.none() | st.integers(-1, n_days))
    schedule = Schedule(
        therapist_id,
        draw(weekly_hours),
        time_off=time_off,
        busy=busy,
        last_day=None if last_offset is None else first_day + last_offset * ONE_DAY,
    )
    # Near the range start, so that notice and horizon cut into it rather than erase it.
    now = draw(instants(base, draw(st.sampled_from([2 * ONE_DAY, span]))))
    now += timedelta(seconds=draw(st.sampled_from([0, 0, 1, 59])))
    notice_hours = draw(st.sampled_from([0, 4, 48]))
    policy = Policy(
        step=timedelta(minutes=draw(st.sampled_from([5, 10, 15, 30]))),
        notice=timedelta(minutes=draw(st.integers(0, notice_hours * 60))),
        horizon=timedelta(
            days=draw(st.integers(1, 119)), minutes=draw(st.integers(0, 24 * 60 - 1))
        ),
    )
    return Case(
        schedule=schedule,
        duration=timedelta(minutes=draw(st.integers(15, 90))),
        buffer=timedelta(minutes=draw(st.integers(0, 20))),
        first_day=first_day,
        last_day=last_day,
        closures=frozenset(first_day + k * ONE_DAY for k in offsets),
        policy=policy,
        now=now,
    )


def reference_windows(hours: Hours, day: date) -> list[tuple[datetime, datetime]]:
    """Return the day's windows in UTC, written independently of the engine."""
    found = []
    for t0, t1 in hours.get(day.weekday(), ()):
        start = datetime.combine(day, t0, tzinfo=ZONE).astimezone(UTC)
        end = datetime.combine(day, t1, tzinfo=ZONE).astimezone(UTC)
        if start < end:
            found.append((start, end))
    return found


def reference_days(case: Case) -> list[date]:
    """Return the open days of the request, one by one."""
    days = []
    day = case.first_day
    while day <= case.last_day:
        lapsed = case.schedule.last_day is not None and day > case.schedule.last_day
        if day not in case.closures and not lapsed:
            days.append(day)
        day += ONE_DAY
    return days


def limits(case: Case) -> tuple[datetime, datetime]:
    """Return now + notice and now + horizon as absolute instants."""
    # Adding a timedelta to a ZoneInfo datetime moves the wall clock, not the instant.
    now = case.now.astimezone(UTC)
    return now + case.policy.notice, now + case.policy.horizon


def reference_starts(case: Case) -> list[datetime]:
    """Return bookable starts by testing every candidate against every blocked interval."""
    blocked = [*case.schedule.busy, *case.schedule.time_off]
    occupied = case.duration + case.buffer
    earliest, latest = limits(case)
    found: set[datetime] = set()
    for day in reference_days(case):
        for start, end in reference_windows(case.schedule.weekly_hours, day):
            s = start
            while s + case.duration <= end:
                free = all(not (s < b.end and b.start < s + occupied) for b in blocked)
                if free and earliest <= s < latest:
                    found.add(s)
                s += case.policy.step
    return sorted(found)


def engine_starts(case: Case, schedule: Schedule | None = None) -> list[datetime]:
    """Return the engine's answer for the case, optionally for another schedule."""
    return bookable_starts(schedule or case.schedule, **case.kwargs())  # type: ignore[arg-type]


def in_open_window(case: Case, start: datetime) -> bool:
    """Return whether the visit at `start` fits one working window of its open local day."""
    day = start.astimezone(ZONE).date()
    if day not in reference_days(case):
        return False
    windows = reference_windows(case.schedule.weekly_hours, day)
    return any(ws <= start and start + case.duration <= we for ws, we in windows)


@settings(max_examples=200, deadline=None)
@given(cases())
def test_matches_brute_force_reference(case: Case) -> None:
    assert engine_starts(case) == reference_starts(case)


@settings(max_examples=200, deadline=None)
@given(cases())
def test_invariants(case: Case) -> None:
    result = engine_starts(case)
    blocked = [*case.schedule.busy, *case.schedule.time_off]
    occupied = case.duration + case.buffer
    for start in result:
        assert start.tzinfo is UTC
        assert all(not (start < b.end and b.start < start + occupied) for b in blocked)
        assert in_open_window(case, start)
        earliest, latest = limits(case)
        assert earliest <= start < latest
    assert all(a < b for a, b in pairwise(result))


@settings(max_examples=200, deadline=None)
@given(cases())
def test_removing_a_busy_interval_never_removes_a_slot(case: Case) -> None:
    before = set(engine_starts(case))
    busy = case.schedule.busy
    for i in range(len(busy)):
        fewer = replace(case.schedule, busy=[*busy[:i], *busy[i + 1 :]])
        assert before <= set(engine_starts(case, fewer))


@settings(max_examples=200, deadline=None)
@given(cases(therapist_id=2), st.lists(weekly_hours, max_size=2))
def test_slots_of_several_therapists_match_reference(case: Case, others: list[Hours]) -> None:
    schedules = [
        *(
            replace(case.schedule, therapist_id=tid, weekly_hours=hours)
            for tid, hours in enumerate(others, start=1)
        ),
        case.schedule,
    ]
    expected = sorted(
        Slot(start, schedule.therapist_id, start + case.duration)
        for schedule in schedules
        for start in reference_starts(replace(case, schedule=schedule))
    )
    assert bookable_slots(schedules, **case.kwargs()) == expected  # type: ignore[arg-type]
