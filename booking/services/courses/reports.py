"""The courses report: per therapist and clinic-local month, courses started, completed, and
the session at which patients stop.

A clinic has years of courses and appointments, so the counting is SQL's (GROUP BY); Python
only adds up a few rows per therapist and month. Months are the clinic's: each month's
bounds are computed here as UTC instants (daylight saving time included) and the database
buckets rows between them with one CASE, alike on SQLite and PostgreSQL, which have no
common time-zone arithmetic. A course created at 23:30 on January 31 in Vancouver (07:30 UTC
on February 1) counts in January.

"Stopped" is a course ended early by staff (status `ended`): its sessions done at the end
(completed visits; no-shows are not sessions done), bucketed by when it ended.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Select, and_, case, func, literal, select

from booking.extensions import db
from booking.models import Appointment, Course, CourseStatus, Status, Therapist
from booking.services.errors import InvalidRequest

MAX_MONTHS = 36
DEFAULT_MONTHS = 12

Stops = tuple[tuple[int, int], ...]  # (sessions done when the course ended, how many), by done


@dataclass(frozen=True, slots=True)
class Month:
    """One month of one therapist (or, in `Report.totals`, of every therapist shown)."""

    month: date  # its first day
    therapist_id: int | None = None
    started: int = 0
    completed: int = 0
    stopped: Stops = ()

    @property
    def ended_early(self) -> int:
        return sum(n for _, n in self.stopped)

    @property
    def median_stop(self) -> float | None:
        return median(self.stopped)


@dataclass(frozen=True, slots=True)
class Report:
    months: tuple[date, ...]  # every month of the range, oldest first
    rows: tuple[Month, ...]  # the therapist-months with anything in them, by therapist name
    totals: tuple[Month, ...]  # one per month of `months`, every therapist shown together
    stopped: Stops  # over the whole range
    names: dict[int, str]  # therapist id -> name, for the rows

    @property
    def median_stop(self) -> float | None:
        return median(self.stopped)

    @property
    def empty(self) -> bool:
        return not self.rows


def median(stops: Stops) -> float | None:
    """The median of the sessions done at the end, or None if no course stopped."""
    values = [done for done, n in stops for _ in range(n)]
    return statistics.median(values) if values else None


def month_range(first: date, last: date) -> tuple[date, ...]:
    """The months from `first`'s to `last`'s (first days), or `InvalidRequest`."""
    start, end = first.replace(day=1), last.replace(day=1)
    if end < start:
        message = "The last month comes before the first."
        raise InvalidRequest({"to": message}, message)
    months = []
    while start <= end:
        months.append(start)
        if len(months) > MAX_MONTHS:
            message = f"Choose at most {MAX_MONTHS} months."
            raise InvalidRequest({"to": message}, message)
        start = _next_month(start)
    return tuple(months)


def default_range(today: date) -> tuple[date, date]:
    """The last 12 months, this one included."""
    first = today.replace(day=1)
    for _ in range(DEFAULT_MONTHS - 1):
        first = _previous_month(first)
    return first, today.replace(day=1)


def _next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def _previous_month(day: date) -> date:
    return date(day.year - (day.month == 1), (day.month - 2) % 12 + 1, 1)


def bounds(months: Sequence[date], zone: ZoneInfo) -> list[datetime]:
    """Each month's first local midnight, and the one after the last month, as instants."""
    days = [*months, _next_month(months[-1])]
    return [datetime.combine(d, datetime.min.time(), tzinfo=zone) for d in days]


def _bucket(column: Any, edges: Sequence[datetime]) -> ColumnElement[Any]:
    """The index of the month `column` falls in (NULL outside the range)."""
    return case(
        *((column < edge, literal(i)) for i, edge in enumerate(edges[1:])),
        else_=None,
    )


def _within(column: Any, edges: Sequence[datetime]) -> ColumnElement[bool]:
    return and_(column >= edges[0], column < edges[-1])


def _mine(query: Select[Any], therapist_ids: Iterable[int] | None) -> Select[Any]:
    if therapist_ids is None:
        return query
    return query.where(Course.therapist_id.in_(list(therapist_ids)))


def report(
    first: date, last: date, *, zone: ZoneInfo, therapist_ids: Iterable[int] | None = None
) -> Report:
    """The report of the months from `first` to `last` (a therapist: `therapist_ids` theirs)."""
    months = month_range(first, last)
    edges = bounds(months, zone)
    ids = None if therapist_ids is None else sorted(set(therapist_ids))
    counts: dict[tuple[int, int], Counter[str]] = defaultdict(Counter)
    stops: dict[tuple[int, int], Counter[int]] = defaultdict(Counter)

    for kind, column, status in (
        ("started", Course.created_at, None),
        ("completed", Course.ended_at, CourseStatus.COMPLETED),
    ):
        inner = select(Course.therapist_id, _bucket(column, edges).label("m")).where(
            _within(column, edges)
        )
        if status is not None:
            inner = inner.where(Course.status == status.value)
        found = _mine(inner, ids).subquery()
        for therapist_id, m, n in db.session.execute(
            select(found.c.therapist_id, found.c.m, func.count()).group_by(
                found.c.therapist_id, found.c.m
            )
        ):
            counts[(therapist_id, m)][kind] = n

    # Each course ended early in the range with its sessions done, then counted per done.
    done = _mine(
        select(
            Course.therapist_id,
            _bucket(Course.ended_at, edges).label("m"),
            func.count(Appointment.id).label("done"),
        )
        .outerjoin(
            Appointment,
            and_(
                Appointment.course_id == Course.id,
                Appointment.status == Status.COMPLETED.value,
            ),
        )
        .where(Course.status == CourseStatus.ENDED.value, _within(Course.ended_at, edges))
        .group_by(Course.id, Course.therapist_id, Course.ended_at),
        ids,
    ).subquery()
    for therapist_id, m, sessions, n in db.session.execute(
        select(done.c.therapist_id, done.c.m, done.c.done, func.count()).group_by(
            done.c.therapist_id, done.c.m, done.c.done
        )
    ):
        stops[(therapist_id, m)][sessions] += n

    keys = set(counts) | set(stops)
    names: dict[int, str] = {
        t: name
        for t, name in db.session.execute(
            select(Therapist.id, Therapist.name).where(Therapist.id.in_({t for t, _ in keys}))
        )
    }
    rows = tuple(
        Month(
            month=months[m],
            therapist_id=t,
            started=counts[(t, m)]["started"],
            completed=counts[(t, m)]["completed"],
            stopped=_stops(stops[(t, m)]),
        )
        for t, m in sorted(keys, key=lambda k: (names.get(k[0], ""), k[0], k[1]))
    )
    totals = tuple(
        Month(
            month=month,
            started=sum(r.started for r in rows if r.month == month),
            completed=sum(r.completed for r in rows if r.month == month),
            stopped=_stops(sum((stops[k] for k in keys if k[1] == i), Counter())),
        )
        for i, month in enumerate(months)
    )
    return Report(
        months=months,
        rows=rows,
        totals=totals,
        stopped=_stops(sum(stops.values(), Counter())),
        names=names,
    )


def _stops(counter: Counter[int]) -> Stops:
    return tuple(sorted((done, n) for done, n in counter.items() if n))
