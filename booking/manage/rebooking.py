"""One-tap rebooking: the next visit offered on a visit's pages, booked with one confirm.

The button posts the suggested start and the page's appointment sequence. The person is the
link's, never the form's. A time taken meanwhile, a visit changed since the page was shown,
or any other refusal of the booking service is answered on one page, with the nearest times
or the next visit as it stands now; nothing is ever booked twice.
"""

from __future__ import annotations

from datetime import datetime

from flask import abort, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from booking import clock
from booking.manage import bp
from booking.services import booking
from booking.services.availability import distinct_starts
from booking.services.catalog import current
from booking.services.courses import rebook
from booking.services.errors import BookingError, NotFound, SlotUnavailable, Stale
from booking.web.forms import ConfirmForm
from booking.web.params import (
    changes_limit,
    format_start,
    parse_sequence,
    parse_start,
    require_valid,
)


@bp.route("/<token>/next", methods=["GET", "POST"])
@changes_limit
def book_next(token: str) -> Response | tuple[str, int]:
    """GET: one time (an emailed link's) to confirm, or the nearest; POST: book it."""
    now = clock.now()
    try:
        appointment = booking.appointment_for_token(token, now=now)
    except NotFound:
        abort(404)
    form = ConfirmForm()
    times: list[datetime] = []
    coming: datetime | None = None
    error, status, confirm = None, 200, False
    if request.method == "GET":
        offer = rebook.offer(appointment, now=now)
        raw = request.args.get("start")
        start = parse_start(raw) if raw else (offer.start if offer else None)
        if offer is None:
            error, status = "There is no next visit to book online from here.", 409
            coming = rebook.coming_visit(appointment.patient_id, now)
        elif start is not None:
            offer, confirm, near = rebook.at(appointment, start, now=now)
            if not confirm:
                error, times = "That time is not available any more.", list(near)
        else:
            error = "There is no free time within our booking window."
    else:
        require_valid(form)  # a page of ours sends the CSRF token: anything else is refused
        sequence = parse_sequence(request.form.get("sequence"))
        raw = request.form.get("start")
        if not raw:  # sent from the nearest times without choosing one
            error, status, wanted = (
                "Choose one of the times below.",
                422,
                request.form.get("wanted"),
            )
            start = parse_start(wanted) if wanted else None
            offer = rebook.offer(appointment, now=now, count=5)
            times = list(offer.times) if offer else []
        else:
            start = parse_start(raw)
            try:
                booked = rebook.book_next(
                    appointment.id, start, expected_sequence=sequence, now=now
                )
            except SlotUnavailable as exc:
                error, status = exc.message, 409
                times = distinct_starts(exc.alternatives)
            except Stale as exc:
                error, status = exc.message, 409
                offer = rebook.offer(appointment, now=now, count=5)
                times = list(offer.times) if offer else []
            except BookingError as exc:  # already booked, spacing, re-assessment, screening
                error, status, coming = exc.message, 409, exc.details.get("start")
            else:
                return redirect(url_for("manage.confirmed", token=booked.manage_token), 303)
    catalog = current()
    return render_template(
        "manage/next_visit.html",
        token=token,
        appointment=appointment,
        form=form,
        error=error,
        confirm=confirm,
        alternatives=times,
        start=start,
        coming=coming,
        wanted=format_start(start) if start else "",
        format_start=format_start,
        offer=offer if request.method == "GET" else None,
        therapist=catalog.therapist(appointment.therapist_id),
        zone=catalog.clinic.zone,
        clinic=catalog.clinic,
    ), status
