"""Turn working hours, bookings and policy into bookable start times.

Pure: no Flask, no database, no clock. Every instant is compared in UTC, and candidate starts
step through absolute time, so a DST day neither loses nor repeats an offered instant.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from itertools import pairwise
from zoneinfo import ZoneInfo

from booking.availability.intervals import Interval, merge

WeeklyHours = Mapping[int, Sequence[tuple[time, time]]]

_ONE_DAY = timedelta(days=1)
_ZERO = timedelta(0)
_MICROSECOND = timedelta(microseconds=1)


@dataclass(frozen=True, slots=True)
class Policy:
    """The clinic's booking rules that limit which starts are offered."""

    step: timedelta
    notice: timedelta
    horizon: timedelta


@dataclass(frozen=True, slots=True)
class Schedule:
    """One therapist's weekly hours and the instants they cannot take."""

    therapist_id: int
    weekly_hours: WeeklyHours
    time_off: Sequence[Interval] = ()
    busy: Sequence[Interval] = ()
    last_day: date | None = None


@dataclass(frozen=True, slots=True, order=True)
class Slot:
    """A bookable appointment: `[start, end)` in aware UTC, buffer excluded."""

    start: datetime
    therapist_id: int
    end: datetime


@lru_cache(maxsize=8192)
def _window(day: date, t0: time, t1: time, zone: ZoneInfo) -> Interval | None:
    """Return one local wall-clock window of `day` in UTC, or None if it is empty."""
    start = datetime.combine(day, t0, tzinfo=zone).astimezone(UTC)
    end = datetime.combine(day, t1, tzinfo=zone).astimezone(UTC)
    return Interval(start, end) if start < end else None


def working_windows(weekly_hours: WeeklyHours, day: date, zone: ZoneInfo) -> list[Interval]:
    """Return the day's working intervals as aware UTC instants, sorted by start."""
    windows = [_window(day, t0, t1, zone) for t0, t1 in weekly_hours.get(day.weekday(), ())]
    return sorted(w for w in windows if w is not None)


def _utc(value: datetime, name: str) -> datetime:
    """Return `value` in UTC, refusing a naive datetime."""
    if value.tzinfo is UTC:
        return value
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime, got {value!r}")
    return value.astimezone(UTC)


def _blocked(schedule: Schedule) -> list[Interval]:
    """Return busy and time off merged into sorted, disjoint UTC intervals."""
    # Normalise before merging: two datetimes sharing a ZoneInfo compare by wall clock, which
    # misorders instants around a fall-back transition.
    return merge(
        Interval(_utc(start, "interval start"), _utc(end, "interval end"))
        for start, end in (*schedule.busy, *schedule.time_off)
    )


def _open_days(first_day: date, last_day: date, closures: Collection[date]) -> Iterator[date]:
    """Yield each date from first_day to last_day inclusive, skipping closures."""
    day = first_day
    while day <= last_day:
        if day not in closures:
            yield day
        day += _ONE_DAY


def bookable_starts(
    schedule: Schedule,
    *,
    duration: timedelta,
    buffer: timedelta,
    first_day: date,
    last_day: date,
    zone: ZoneInfo,
    closures: Collection[date],
    policy: Policy,
    now: datetime,
) -> list[datetime]:
    """Return the sorted aware-UTC start times this therapist can take for the service."""
    now = _utc(now, "now")
    step = policy.step
    if step <= _ZERO or duration <= _ZERO or buffer < _ZERO:
        raise ValueError("step and duration must be positive and buffer not negative")
    earliest = now + policy.notice
    # Datetimes are whole microseconds, so "start < now + horizon" is "start <= this".
    latest = now + policy.horizon - _MICROSECOND
    occupied = duration + buffer
    blocked = _blocked(schedule)
    blocked_starts = [b.start for b in blocked]
    blocked_ends = [b.end for b in blocked]
    n_blocked = len(blocked)
    if schedule.last_day is not None:
        last_day = min(last_day, schedule.last_day)
    windows = [
        window
        for day in _open_days(first_day, last_day, closures)
        for window in working_windows(schedule.weekly_hours, day, zone)
    ]

    out: list[datetime] = []
    append = out.append
    for ws, we in windows:
        stop = min(we - duration, latest)
        # The grid is ws + k*step (k >= 0); -((ws - x) // step) is ceil((x - ws) / step).
        s = ws if earliest <= ws else ws - ((ws - earliest) // step) * step
        j = bisect_right(blocked_ends, s)
        while s <= stop:
            while j < n_blocked and blocked_ends[j] <= s:
                j += 1
            run_stop = stop if j == n_blocked else min(stop, blocked_starts[j] - occupied)
            while s <= run_stop:
                append(s)
                s += step
            if j < n_blocked:
                # s now collides with interval j (or has passed it): resume on the grid after it.
                s = max(s, ws - ((ws - blocked_ends[j]) // step) * step)

    # Windows that overlap by configuration would offer some instants twice, out of order.
    if any(later.start < earlier.end for earlier, later in pairwise(windows)):
        return sorted(set(out))
    return out


def bookable_slots(
    schedules: Iterable[Schedule],
    *,
    duration: timedelta,
    buffer: timedelta,
    first_day: date,
    last_day: date,
    zone: ZoneInfo,
    closures: Collection[date],
    policy: Policy,
    now: datetime,
) -> list[Slot]:
    """Return the slots of all schedules, sorted by start then therapist id."""
    pairs: list[tuple[datetime, int]] = []
    for schedule in schedules:
        starts = bookable_starts(
            schedule,
            duration=duration,
            buffer=buffer,
            first_day=first_day,
            last_day=last_day,
            zone=zone,
            closures=closures,
            policy=policy,
            now=now,
        )
        therapist_id = schedule.therapist_id
        pairs.extend((start, therapist_id) for start in starts)
    pairs.sort()
    return [Slot(start, therapist_id, start + duration) for start, therapist_id in pairs]
