"""Availability: pure functions from working hours, bookings and policy to bookable slots."""

from booking.availability.engine import (
    Policy,
    Schedule,
    Slot,
    WeeklyHours,
    bookable_slots,
    bookable_starts,
    working_windows,
)
from booking.availability.intervals import Interval, merge, overlaps

__all__ = [
    "Interval",
    "Policy",
    "Schedule",
    "Slot",
    "WeeklyHours",
    "bookable_slots",
    "bookable_starts",
    "merge",
    "overlaps",
    "working_windows",
]
