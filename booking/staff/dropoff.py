"""The drop-off list for reception: lapsed courses, and "send next times" to each."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from booking import clock
from booking.services import catalog as catalogs
from booking.services.courses import dropoff
from booking.services.errors import BookingError
from booking.staff import bp
from booking.staff.access import DESK, require
from booking.staff.forms import ActionForm
from booking.web.params import require_valid


@bp.get("/courses/drop-off")
@require(*DESK)
def dropoff_list() -> str:
    catalog = catalogs.current()
    zone = catalog.clinic.zone
    now = clock.now()
    courses = dropoff.lapsed(today=now.astimezone(zone).date(), now=now, zone=zone)
    return render_template(
        "staff/dropoff.html",
        courses=courses,
        therapists={t.id: t.name for t in catalog.therapists.values()},
        zone=zone,
    )


@bp.post("/courses/<int:course_id>/next-times")
@require(*DESK)
def send_next_times(course_id: int) -> Response:
    """Email the patient their next free times, each with a one-tap link (audited)."""
    require_valid(ActionForm())
    try:
        dropoff.send_next_times(course_id, actor=f"staff:{current_user.id}", now=clock.now())
    except BookingError as exc:
        flash(exc.message, "error")
    else:
        flash("The next free times are on their way to the patient.", "success")
    return redirect(url_for("staff.dropoff_list"), 303)
