"""How instants read on pages and in emails: the clinic's zone, locale and clock (dates.py)."""

from __future__ import annotations

import hashlib
from datetime import date, datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask, current_app, url_for

from booking.dates import Style, zone_name

__all__ = ["Style", "clock_text", "day_text", "short_day", "when_text", "zone_name"]


def _style() -> Style:
    """Return the current clinic's style; the default before the clinic is set up."""
    from booking.services.catalog import latest

    try:
        return Style.of(latest().clinic)
    except Exception:  # an error page must render even when the database cannot answer
        return Style()


def day_text(day: date, style: Style | None = None) -> str:
    """Return "Tuesday, March 9, 2027"."""
    return (style or _style()).day(day)


def day_month(day: date, style: Style | None = None) -> str:
    """Return "Tuesday, March 9"."""
    return (style or _style()).day_month(day)


def short_day(day: date, style: Style | None = None) -> str:
    """Return "Tue, Mar 9"."""
    return (style or _style()).short_day(day)


def clock_text(instant: datetime, zone: ZoneInfo, style: Style | None = None) -> str:
    """Return the wall-clock time in the zone: "9:30 a.m." (or "09:30" on a 24-hour clock)."""
    return (style or _style()).clock(instant, zone)


def time_of_day(moment: time, style: Style | None = None) -> str:
    """Return a wall-clock time: "9:00 a.m." (or "09:00" on a 24-hour clock)."""
    return (style or _style()).time_of_day(moment)


def when_text(instant: datetime, zone: ZoneInfo, style: Style | None = None) -> str:
    """Return "Tuesday, March 9, 2027, 9:30 a.m. (Pacific time)"."""
    return (style or _style()).when(instant, zone)


def short_when_text(instant: datetime, zone: ZoneInfo) -> str:
    """Return "Tue, Mar 9, 9:30 a.m.": where the page already names the year and the zone."""
    return _style().short_when(instant, zone)


def local_date(instant: datetime, zone: ZoneInfo) -> date:
    return instant.astimezone(zone).date()


def with_article(noun: object) -> str:
    """`noun` after "a" or "an", by how it sounds: an IMS follow-up, a physiotherapy visit."""
    text = str(noun)
    word = text.split(" ", 1)[0].strip("(\"'")
    if isinstance(noun, int) or word.isdigit():  # an 8-minute, an 11-minute, a 45-minute
        vowel = word.startswith("8") or word in ("11", "18")
    elif len(word) > 1 and word.isupper():  # an IMS, an MRI, an X-ray; a UV lamp
        vowel = word[0] in "AEFHILMNORSX"
    else:
        vowel = word[:1].lower() in ("a", "e", "i", "o", "u")
    return f"{'an' if vowel else 'a'} {text}"


def capitalize_first(text: str) -> str:
    """The first letter in capitals, the rest as it is (Jinja's `capitalize` lowers it)."""
    return text[:1].upper() + text[1:]


def site_context() -> dict[str, Any]:
    """Give every page the clinic for its header and footer, if the clinic is set up."""
    from booking.services.catalog import latest

    try:  # the view already read the current catalog: no second query for the header
        return {"site_clinic": latest().clinic}
    except Exception:  # an error page must render even when the database cannot answer
        return {"site_clinic": None}


def asset(filename: str) -> str:
    """Return a static file's URL with a digest of its content, so it can be cached for good."""
    cache: dict[str, str] = current_app.extensions.setdefault("booking.assets", {})
    if filename not in cache:
        path = Path(current_app.static_folder or "") / filename
        digest = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
        cache[filename] = url_for("static", filename=filename, v=digest)
    return cache[filename]


def register(app: Flask) -> None:
    app.add_template_global(asset, "asset")
    app.context_processor(site_context)
    app.add_template_filter(zone_name, "zone_name")
    app.add_template_filter(day_text, "day")
    app.add_template_filter(short_day, "short_day")
    app.add_template_filter(day_month, "day_month")
    app.add_template_filter(clock_text, "clock")
    app.add_template_filter(when_text, "when")
    app.add_template_filter(short_when_text, "short_when")
    app.add_template_filter(time_of_day, "time_of_day")
    app.add_template_filter(local_date, "local_date")
    app.add_template_filter(with_article, "with_article")
    app.add_template_filter(capitalize_first, "capitalize_first")
    from booking.services.validation import phone_display

    app.add_template_filter(phone_display, "phone")
