"""Half-open intervals of aware instants: the one overlap rule of the whole system.

`overlaps()` here and `overlaps_sql()` in `booking.models.base` are twins: the database
constraints (an exclusion constraint on PostgreSQL, triggers on SQLite) apply the same rule.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import NamedTuple


class Interval(NamedTuple):
    """A half-open interval `[start, end)` of aware datetimes."""

    start: datetime
    end: datetime

    def overlaps(self, other: Interval) -> bool:
        return overlaps(self.start, self.end, other.start, other.end)


def overlaps(a_start: datetime, a_end: datetime, b_start: datetime, b_end: datetime) -> bool:
    """Return whether `[a_start, a_end)` and `[b_start, b_end)` share an instant."""
    return a_start < b_end and b_start < a_end


def merge(intervals: Iterable[Interval]) -> list[Interval]:
    """Return the sorted union of `intervals` as disjoint, non-touching intervals."""
    merged: list[Interval] = []
    for start, end in sorted(i for i in intervals if i.start < i.end):
        if merged and start <= merged[-1].end:
            if end > merged[-1].end:
                merged[-1] = Interval(merged[-1].start, end)
        else:
            merged.append(Interval(start, end))
    return merged
