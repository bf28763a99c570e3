"""The clinic's day and a therapist's week, as time grids."""

from __future__ import annotations

import functools
from datetime import date, timedelta

from flask import render_template
from flask_login import current_user
from werkzeug.wrappers import Response

from booking import clock
from booking.models import Role
from booking.services import catalog as catalogs
from booking.services import hours, schedule
from booking.staff import bp
from booking.staff.access import (
    EVERYONE,
    require,
)
from booking.staff.common import (
    date_param,
    therapist_or_404,
)
from booking.web.week import monday_of


@bp.get("/day")
@require(*EVERYONE)
def day() -> str:
    catalog = catalogs.current()
    zone = catalog.clinic.zone
    today = clock.now().astimezone(zone).date()
    shown = date_param(today)
    mine = _mine()
    plan = schedule.day_schedule(catalog, shown, therapist_ids=mine)
    return render_template(
        "staff/day.html",
        plan=plan,
        **_needing_move(mine, shown, shown),
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
    plan = schedule.week_schedule(catalog, catalog.therapist(therapist.id), monday)
    return render_template(
        "staff/week.html",
        plan=plan,
        **_needing_move([therapist.id], monday, monday + timedelta(days=6)),
        therapist=therapist,
        monday=monday,
        today=today,
        previous=monday - timedelta(days=7),
        following=monday + timedelta(days=7),
        zone=zone,
    )


@bp.get("/needs-moving")
@require(*EVERYONE)
def needs_moving() -> str:
    """Every upcoming booked visit left outside working time (a therapist: their own)."""
    catalog = catalogs.current()
    visits = hours.needing_move(now=clock.now(), therapist_ids=_mine())
    return render_template(
        "staff/needs_moving.html",
        visits=visits,
        names={o.therapist_id: catalog.therapist(o.therapist_id).name for o in visits},
        zone=catalog.clinic.zone,
    )


def _mine() -> list[int] | None:
    """A therapist's own id (they see only their own), or None for the whole clinic."""
    return [current_user.therapist_id] if current_user.role == Role.THERAPIST else None


def _needing_move(therapist_ids: list[int] | None, first: date, last: date) -> dict[str, object]:
    """The shown days' visits that must move, by id, and how many must move on any day."""
    now = clock.now()
    everywhere = hours.needing_move(now=now, therapist_ids=therapist_ids)
    zone = catalogs.current().clinic.zone
    shown = [o for o in everywhere if first <= o.start.astimezone(zone).date() <= last]
    return {"moving": {o.id: o for o in shown}, "moving_total": len(everywhere)}


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
