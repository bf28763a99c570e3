"""The clinic's day and a therapist's week, as time grids."""

from __future__ import annotations

import functools
from datetime import timedelta

from flask import render_template
from flask_login import current_user
from werkzeug.wrappers import Response

from booking import clock
from booking.models import Role
from booking.public.week import monday_of
from booking.services import catalog as catalogs
from booking.services import schedule
from booking.staff import bp
from booking.staff.access import (
    EVERYONE,
    require,
)
from booking.staff.common import (
    date_param,
    therapist_or_404,
)


@bp.get("/day")
@require(*EVERYONE)
def day() -> str:
    catalog = catalogs.current()
    zone = catalog.clinic.zone
    today = clock.now().astimezone(zone).date()
    shown = date_param(today)
    mine = [current_user.therapist_id] if current_user.role == Role.THERAPIST else None
    plan = schedule.day_schedule(catalog, shown, therapist_ids=mine)
    return render_template(
        "staff/day.html",
        plan=plan,
        shown=shown,
        today=today,
        previous=shown - timedelta(days=1),
        following=shown + timedelta(days=1),
        zone=zone,
    )


@bp.get("/therapists/<int:therapist_id>/week")
@require(*EVERYONE)
def week(therapist_id: int) -> str:
    therapist = therapist_or_404(therapist_id)
    catalog = catalogs.current()
    zone = catalog.clinic.zone
    today = clock.now().astimezone(zone).date()
    monday = monday_of(date_param(today))
    plan = schedule.week_schedule(catalog, therapist, monday)
    return render_template(
        "staff/week.html",
        plan=plan,
        therapist=therapist,
        monday=monday,
        today=today,
        previous=monday - timedelta(days=7),
        following=monday + timedelta(days=7),
        zone=zone,
    )


@bp.get("/grid.css")
def grid_css() -> Response:
    """Placement classes for the time grid (the CSP allows no inline styles)."""
    response = Response(_grid_rules(), mimetype="text/css")
    response.headers["Cache-Control"] = "public, max-age=86400"
    return response


@functools.cache
def _grid_rules() -> str:
    rules = [
        f".cols-{n} {{ grid-template-columns: 5rem repeat({n}, minmax(9.5rem, 1fr)); }}"
        for n in range(1, 41)
    ]
    rules += [f".gc-{n} {{ grid-column: {n}; }}" for n in range(1, 42)]
    rules += [f".r-{n} {{ grid-row-start: {n}; }}" for n in range(1, 292)]
    rules += [f".s-{n} {{ grid-row-end: span {n}; }}" for n in range(1, 290)]
    return "\n".join(rules) + "\n"
