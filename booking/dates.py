"""Dates and times in the clinic's words: its locale (Babel's CLDR data) and its clock.

The one place that turns a date or an instant into text, for pages, emails and invites.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from functools import lru_cache
from typing import Protocol
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError, localedata
from babel.dates import format_date, format_skeleton, format_time

DEFAULT_LOCALE = "en_CA"
START_FORMAT = "%Y%m%dT%H%MZ"  # a slot in a URL: UTC, minute precision, nothing to escape

ZONE_NAMES = {
    "America/Vancouver": "Pacific time",
    "America/Edmonton": "Mountain time",
    "America/Regina": "Saskatchewan time",
    "America/Winnipeg": "Central time",
    "America/Toronto": "Eastern time",
    "America/Halifax": "Atlantic time",
    "America/St_Johns": "Newfoundland time",
}


def known_locale(value: str) -> str:
    """Return `value` if Babel has the locale's data ("en_CA", "fr_CA"), else raise ValueError."""
    value = value.strip()
    if not re.fullmatch(r"[a-z]{2,3}(?:_[A-Z]{2})?", value, re.ASCII):
        raise ValueError("must be a locale such as en_CA or fr_CA")
    try:  # Babel's own data for exactly this locale, not a fallback to its language
        known = localedata.exists(value) and Locale.parse(value) is not None
    except (UnknownLocaleError, ValueError):
        known = False
    if not known:
        raise ValueError(f"{value!r} is not a locale this app knows, such as en_CA or fr_CA")
    return value


def zone_name(zone: ZoneInfo) -> str:
    """Return what patients call the zone: "Pacific time", or "Lisbon time" for others."""
    return ZONE_NAMES.get(zone.key) or zone.key.rpartition("/")[2].replace("_", " ") + " time"


@lru_cache(maxsize=32)
def _patterns(locale: str) -> tuple[str, str, str]:
    """Return (weekday-month-day pattern, date-time joiner, its short form) for the locale."""
    data = Locale.parse(locale)
    # CLDR has "E, MMM d" for en_CA; the same fields written out: "EEEE, MMMM d".
    short = str(data.datetime_skeletons.get("MMMEd") or "EEE d MMM")
    long = re.sub(r"M{3,}", "MMMM", re.sub(r"E+", "EEEE", short))
    joiner = str(data.datetime_formats.get("medium") or "{1}, {0}").replace("'", "")
    return long, joiner, short


def _plain(text: str) -> str:
    # CLDR puts a narrow no-break space before "a.m."; an ordinary one reads the same
    # everywhere (email subjects, invites, screen readers) and CSS keeps a time on one line.
    return text.replace("\u202f", " ").replace("\u00a0", " ")


# Kept: a day or a time of day reads the same each time, and a page writes the same few
# dozen of them (a week's days, a course's sessions, a day's times) on every request.
@lru_cache(maxsize=4096)
def _day(locale: str, day: date, pattern: str) -> str:
    return _plain(format_date(day, pattern, locale=locale))


@lru_cache(maxsize=4096)
def _time_of_day(locale: str, clock_24h: bool, moment: time) -> str:
    if clock_24h:  # the locale's own 24-hour form: "09:30", "09 h 30"
        return _plain(format_skeleton("Hm", moment, locale=locale))
    return _plain(format_time(moment, "short", locale=locale))


class Styled(Protocol):
    """What `Style.of` reads: a clinic (its locale is None until the row is first flushed)."""

    @property
    def locale(self) -> str | None: ...

    @property
    def clock_24h(self) -> bool | None: ...


@dataclass(frozen=True, slots=True)
class Style:
    """How the clinic writes dates and times."""

    locale: str = DEFAULT_LOCALE
    clock_24h: bool = False

    @classmethod
    def of(cls, clinic: Styled | None) -> Style:
        """Return the clinic's style (the default for none)."""
        if clinic is None:
            return cls()
        return cls(clinic.locale or DEFAULT_LOCALE, bool(clinic.clock_24h))

    def day(self, day: date) -> str:
        """Return "Tuesday, March 2, 2027"."""
        return _day(self.locale, day, "full")

    def day_month(self, day: date) -> str:
        """Return "Tuesday, March 2"."""
        return _day(self.locale, day, _patterns(self.locale)[0])

    def short_day(self, day: date) -> str:
        """Return "Tue, Mar 2"."""
        return _day(self.locale, day, _patterns(self.locale)[2])

    def clock(self, instant: datetime, zone: ZoneInfo) -> str:
        """Return the wall-clock time in the zone: "9:30 a.m." (or "09:30" on a 24-hour clock)."""
        return self.time_of_day(instant.astimezone(zone).time())

    def time_of_day(self, moment: time) -> str:
        """Return a wall-clock time as the clock reads it: "9:30 a.m." or "09:30"."""
        return _time_of_day(self.locale, self.clock_24h, moment)

    def when(self, instant: datetime, zone: ZoneInfo) -> str:
        """Return "Tuesday, March 2, 2027, 9:30 a.m. (Pacific time)"."""
        local = instant.astimezone(zone)
        joined = _patterns(self.locale)[1].format(self.clock(instant, zone), self.day(local.date()))
        return f"{joined} ({zone_name(zone)})"

    def short_when(self, instant: datetime, zone: ZoneInfo) -> str:
        """Return "Tue, Mar 2, 9:30 a.m."."""
        local = instant.astimezone(zone)
        return _patterns(self.locale)[1].format(
            self.clock(instant, zone), self.short_day(local.date())
        )


def period(instant: datetime, zone: ZoneInfo) -> str:
    """Return the part of the local day a time falls in: morning, afternoon or evening."""
    hour = instant.astimezone(zone).hour
    return "morning" if hour < 12 else "afternoon" if hour < 17 else "evening"


def format_start(instant: datetime) -> str:
    """A slot's start as URLs carry it (the pages' forms and the emails' links alike)."""
    return instant.astimezone(UTC).strftime(START_FORMAT)
