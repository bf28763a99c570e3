"""A therapist's weekly hours, time off and calendar feed."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, time

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from booking import clock
from booking.links import webcal
from booking.services import catalog as catalogs
from booking.services import feeds
from booking.services import hours as hours_service
from booking.services.clinic import local_day_bounds
from booking.services.errors import BookingError, InvalidRequest
from booking.staff import bp
from booking.staff.access import (
    EVERYONE,
    require,
)
from booking.staff.common import form_page, therapist_or_404
from booking.staff.forms import (
    ActionForm,
    TimeOffForm,
)
from booking.web.forms import filled
from booking.web.params import require_valid


@bp.route("/therapists/<int:therapist_id>/hours", methods=["GET", "POST"])
@require(*EVERYONE)
def hours(therapist_id: int) -> str | tuple[str, int]:
    therapist = therapist_or_404(therapist_id)
    form = ActionForm()
    values = {day: list(spans) for day, spans in hours_service.weekly_hours(therapist_id).items()}
    errors: dict[str, str] = {}
    moved_out = None
    if request.method == "POST":
        require_valid(form)
        values, errors = _read_windows(request.form)
        if not errors:
            try:
                moved_out = hours_service.set_weekly_hours(
                    therapist_id, values, actor=f"staff:{current_user.id}", now=clock.now()
                )
            except InvalidRequest as exc:
                errors = exc.details["fields"]
            else:
                flash("The weekly hours are saved; online booking uses them now.", "success")
    catalog = catalogs.current()
    return render_template(
        "staff/hours.html",
        therapist=therapist,
        form=form,
        values=values,
        errors=errors,
        weekdays=hours_service.WEEKDAYS,
        slots=range(hours_service.MAX_WINDOWS),
        moved_out=moved_out,
        zone=catalog.clinic.zone,
    ), (422 if errors else 200)


def _read_windows(data: Mapping[str, str]) -> tuple[hours_service.Windows, dict[str, str]]:
    """Parse the editor's `d<day>_<n>_start/_end` fields: both blank, or both HH:MM."""
    windows: hours_service.Windows = {day: [] for day in range(7)}
    errors: dict[str, str] = {}
    for day in range(7):
        for n in range(hours_service.MAX_WINDOWS):
            raw = [data.get(f"d{day}_{n}_{edge}", "").strip() for edge in ("start", "end")]
            if not any(raw):
                continue
            start, end = (_wall_time(value) for value in raw)
            if start is None or end is None:
                name = hours_service.WEEKDAYS[day]
                errors[f"d{day}"] = f"{name}: give each period a start and an end, like 09:00."
                continue
            windows[day].append((start, end))
    return windows, errors


def _wall_time(raw: str) -> time | None:
    if not (len(raw) == 5 and raw.isascii() and raw[2] == ":"):
        return None
    try:
        return time.fromisoformat(raw)
    except ValueError:
        return None


@bp.route("/therapists/<int:therapist_id>/time-off", methods=["GET", "POST"])
@require(*EVERYONE)
def time_off(therapist_id: int) -> str | tuple[str, int]:
    therapist = therapist_or_404(therapist_id)
    catalog = catalogs.current()
    zone = catalog.clinic.zone
    form = TimeOffForm()
    moved_out = None
    if form.validate_on_submit():
        first = filled(form.first_day.data)
        last = form.last_day.data or first
        start, end = local_day_bounds(first, last, zone)  # whole days unless times are given
        if form.from_time.data:
            start = datetime.combine(first, form.from_time.data, tzinfo=zone)
        if form.until_time.data:
            end = datetime.combine(last, form.until_time.data, tzinfo=zone)
        try:
            moved_out = hours_service.add_time_off(
                therapist_id,
                start,
                end,
                form.reason.data or "",
                actor=f"staff:{current_user.id}",
                now=clock.now(),
            )
        except InvalidRequest as exc:
            form.last_day.errors = [*form.last_day.errors, *exc.details["fields"].values()]
        else:
            flash("The time off is saved; online booking no longer offers those times.", "success")
            form = TimeOffForm(formdata=None)
    return form_page(
        "staff/time_off.html",
        form,
        therapist=therapist,
        upcoming=hours_service.upcoming_time_off(therapist_id, clock.now()),
        moved_out=moved_out,
        zone=zone,
    )


@bp.post("/therapists/<int:therapist_id>/time-off/<int:time_off_id>/delete")
@require(*EVERYONE)
def delete_time_off(therapist_id: int, time_off_id: int) -> Response:
    therapist_or_404(therapist_id)
    require_valid(ActionForm())
    try:
        hours_service.remove_time_off(
            therapist_id, time_off_id, actor=f"staff:{current_user.id}", now=clock.now()
        )
    except BookingError:
        abort(404)
    flash("The time off is removed.", "success")
    return redirect(url_for("staff.time_off", therapist_id=therapist_id))


@bp.route("/therapists/<int:therapist_id>/calendar-feed", methods=["GET", "POST"])
@require(*EVERYONE)
def calendar_feed(therapist_id: int) -> Response | str:
    therapist = therapist_or_404(therapist_id)
    form = ActionForm()
    if request.method == "POST":  # make the address, or a new one that kills the old
        require_valid(form)
        had = feeds.existing_url(therapist_id) is not None
        feeds.feed_url(
            therapist_id, now=clock.now(), regenerate=True, actor=f"staff:{current_user.id}"
        )
        flash(
            "A new address is made. The old one has stopped working."
            if had
            else "The address is made: subscribe to it in your calendar app.",
            "success",
        )
        return redirect(url_for("staff.calendar_feed", therapist_id=therapist_id))
    url = feeds.existing_url(therapist_id)
    return render_template(
        "staff/calendar_feed.html",
        therapist=therapist,
        url=url,
        webcal=webcal(url) if url else None,
        form=form,
    )
