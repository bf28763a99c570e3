"""What the booking pages carry in their URLs (never patient data), parsed strictly."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, date, datetime

from flask import abort, current_app
from flask_wtf import FlaskForm

from booking import ratelimit
from booking.dates import START_FORMAT
from booking.dates import format_start as format_start  # the pages' name for it, re-exported
from booking.services.validation import calendar_date

START_SHAPE = re.compile(r"[0-9]{8}T[0-9]{4}Z", re.ASCII)


BAD_FORM = "This form is not valid. Please reload the page and try again."


def require_valid(form: FlaskForm) -> None:
    """Answer 400 for a POSTed form that a page of ours cannot have sent (a tampered field)."""
    if not form.validate_on_submit():
        abort(400, description=BAD_FORM)


def parse_sequence(raw: str | None) -> int:
    """Return the appointment sequence a change form carries, or answer 400."""
    if raw is None or not raw.isascii() or not raw.isdigit() or len(raw) > 9:
        abort(400, description=BAD_FORM)
    return int(raw)


# Booking, rescheduling and cancelling, on the site and through the API, share one count per
# client address ("10 per minute; 50 per hour"): neither is a way around the other's limit.
CHANGES = "booking-changes"
changes_limit = ratelimit.limit(setting="BOOKING_RATE_LIMIT", scope=CHANGES)


def count_change() -> None:
    """Count one booking or change against BOOKING_RATE_LIMIT; raise 429 when over it.

    For a form that counts only what it sends to be booked: a form sent back for a missing
    field costs the patient nothing.
    """
    ratelimit.check(current_app.config["BOOKING_RATE_LIMIT"], CHANGES)


def parse_start(raw: str | None) -> datetime:
    """Return the instant a slot parameter names, or answer 400."""
    value = None
    if raw and START_SHAPE.fullmatch(raw):
        try:
            value = datetime.strptime(raw, START_FORMAT).replace(tzinfo=UTC)
        except ValueError:  # a 13th month, a 25th hour
            value = None
    if value is None or not 2000 <= value.year <= 2200:
        abort(400, description="That appointment time is not valid. Please choose a time again.")
    return value


def parse_week(raw: str | None, what: str = "week") -> date | None:
    """Return the date a `week` (or `day`) parameter names (None when absent), or answer 400."""
    if not raw:
        return None
    value = calendar_date(raw)
    if value is None:
        abort(400, description=f"That {what} is not a valid date.")
    return value


def parse_day_and_week(args: Mapping[str, str]) -> tuple[date | None, date | None]:
    """Return (the `day` asked for, the date whose week to show), either possibly None."""
    day = parse_week(args.get("day"), "day")
    return day, day or parse_week(args.get("week"))
