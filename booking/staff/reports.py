"""The courses report: started, completed and where patients stop, per therapist and month.

Every role may open it: reception and admin see the whole clinic, a therapist their own
numbers (as in the day view). It holds counts only, never a patient. The range is two
months in the address (`?from=2026-04&to=2027-03`, clinic-local), the last 12 by default: a
GET form, which changes nothing and so carries no CSRF token (a token in an address leaks).
"""

from __future__ import annotations

import re
from datetime import date

from flask import render_template, request
from flask_login import current_user

from booking import clock
from booking.models import Role
from booking.services import catalog as catalogs
from booking.services.courses import reports
from booking.services.errors import InvalidRequest
from booking.staff import bp, chart
from booking.staff.access import EVERYONE, require

MONTH = re.compile(r"(\d{4})-(\d{2})", re.ASCII)
SERIES = ("started", "completed")


def _month(raw: str | None, default: date) -> date:
    if not raw:
        return default
    found = MONTH.fullmatch(raw)
    if found is None or not 1 <= int(found[2]) <= 12 or not 2000 <= int(found[1]) <= 2100:
        message = "Choose a month as YYYY-MM, such as 2027-03."
        raise InvalidRequest({"month": message}, message)
    return date(int(found[1]), int(found[2]), 1)


@bp.get("/reports")
@require(*EVERYONE)
def reports_page() -> tuple[str, int]:
    catalog = catalogs.current()
    zone = catalog.clinic.zone
    locale = catalog.clinic.locale or "en_CA"
    first, last = reports.default_range(clock.now().astimezone(zone).date())
    mine = [current_user.therapist_id] if current_user.role == Role.THERAPIST else None
    try:
        first = _month(request.args.get("from"), first)
        last = _month(request.args.get("to"), last)
        report = reports.report(first, last, zone=zone, therapist_ids=mine)
    except InvalidRequest as exc:
        page = render_template(
            "staff/reports.html", error=exc.message, first=first, last=last, report=None
        )
        return page, 400
    drawn = chart.monthly(
        report.months,
        [(name, [getattr(t, name) for t in report.totals]) for name in SERIES],
        locale=locale,
    )
    page = render_template(
        "staff/reports.html",
        error="",
        first=first,
        last=last,
        report=report,
        chart=drawn,
        series=SERIES,
        own=mine is not None,
        month_name=lambda month: chart.month_name(month, locale),
        number=lambda value: "—" if value is None else f"{value:g}",  # a median: 2 or 2.5
    )
    return page, 200
