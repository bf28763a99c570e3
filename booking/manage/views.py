"""View, add to a calendar, reschedule or cancel one appointment, from its private link.

Every change is a POST behind a confirm step, so a mail scanner that follows links changes
nothing; each form carries the appointment's sequence, so a page left open while the clinic
moved the appointment cannot undo that move.
"""

from __future__ import annotations

from datetime import datetime
from typing import TypedDict

from flask import abort, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from booking import clock
from booking.calendar import ics as calendar
from booking.calendar.ics import google_calendar_url
from booking.links import external_url
from booking.mail.envelope import CannotCompose, sender
from booking.manage import bp
from booking.models import Appointment, Consent, Status
from booking.services import booking, changes
from booking.services import screening as screenings
from booking.services.availability import distinct_starts, nearest_slots, slot_at
from booking.services.catalog import (
    Catalog,
    ClinicInfo,
    ServiceInfo,
    TherapistInfo,
    current,
)
from booking.services.courses import rebook
from booking.services.errors import BookingError, NotFound, SlotUnavailable
from booking.web.forms import CancelForm, ConfirmForm, ScreeningForm
from booking.web.params import (
    changes_limit,
    format_start,
    parse_day_and_week,
    parse_sequence,
    parse_start,
)
from booking.web.week import build_week, late_check, monday_of, offering

PAST = (Status.COMPLETED.value, Status.NO_SHOW.value)


class Parts(TypedDict):
    """An appointment's service, therapist and clinic, as the pages and calendars take them."""

    service: ServiceInfo
    therapist: TherapistInfo
    clinic: ClinicInfo


class Search(TypedDict):
    """Where a move looks for times: one therapist, the appointment's own time not taken."""

    now: datetime
    therapists: list[TherapistInfo]
    exclude_appointment_id: int
    # The visit's person: the link's holder sees the days their needling spacing leaves.
    patient_id: int


@bp.after_request
def private(response: Response) -> Response:
    # The page is the patient's own: no shared cache keeps it, no search engine lists it.
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response


@bp.get("/<token>")
def show(token: str) -> str:
    return _page("manage/show.html", token)


@bp.get("/<token>/confirmed")
def confirmed(token: str) -> str:
    return _page("manage/confirmed.html", token)


@bp.get("/<token>/appointment.ics")
def ics(token: str) -> Response:
    """The same event as the emailed invites (UID, SEQUENCE), as a file to open."""
    catalog, appointment, now = _open(token)
    if appointment.status == Status.CANCELLED:
        abort(404)
    until = changes.change_until(appointment, catalog.clinic, now)  # as in the emailed invite
    visit = calendar.patient_visit(
        appointment,
        **_parts(catalog, appointment),
        manage_url=external_url("manage.show", token=token) if until else None,
        change_until=until,
    )
    try:
        organizer = sender(catalog.clinic)
    except CannotCompose:
        organizer = None
    return Response(
        calendar.download(visit, now=now, organizer=organizer),
        mimetype="text/calendar",
        headers={
            "Content-Disposition": f'attachment; filename="appointment-{appointment.reference}.ics"'
        },
    )


@bp.get("/<token>/reschedule")
def reschedule(token: str) -> Response | str:
    catalog, appointment, now = _open(token)
    if not booking.changeable_online(appointment, catalog.clinic, now):
        return redirect(url_for("manage.show", token=token))
    service = catalog.services[appointment.service_id]
    therapist = _target(catalog, appointment, service, request.args.get("therapist"), now)
    zone = catalog.clinic.zone
    today = now.astimezone(zone).date()
    day, wanted = parse_day_and_week(request.args)
    monday = monday_of(wanted or appointment.start_at.astimezone(zone).date())
    monday = max(monday, monday_of(today))
    # The manage link opens this person's visit, so its holder may see which days their
    # needling spacing leaves out (the spacing's refusal names the other visit's day).
    week = build_week(
        catalog,
        service,
        [therapist],
        monday,
        now=now,
        exclude_appointment_id=appointment.id,
        patient_id=appointment.patient_id,
    )
    return render_template(
        "manage/reschedule.html",
        token=token,
        appointment=appointment,
        service=service,
        therapist=therapist,
        others=offering(catalog, service, now),
        week=week,
        shown=week.selected(day or appointment.start_at.astimezone(zone).date()),
        zone=zone,
        clinic=catalog.clinic,
        current_therapist=catalog.therapists.get(appointment.therapist_id),
        slot_url=lambda start: url_for(
            "manage.confirm_reschedule",
            token=token,
            therapist=therapist.id,
            start=format_start(start),
        ),
        week_url=lambda day: url_for(
            "manage.reschedule", token=token, therapist=therapist.id, week=day
        ),
        day_url=lambda day: url_for(
            "manage.reschedule", token=token, therapist=therapist.id, day=day
        ),
    )


@bp.route("/<token>/reschedule/confirm", methods=["GET", "POST"])
@changes_limit
def confirm_reschedule(token: str) -> Response | str | tuple[str, int]:
    catalog, appointment, now = _open(token)
    if not booking.changeable_online(appointment, catalog.clinic, now):
        return redirect(url_for("manage.show", token=token))
    service = catalog.services[appointment.service_id]
    therapist = _target(catalog, appointment, service, request.values.get("therapist"), now)
    unchosen = request.method == "POST" and not request.form.get("start")
    start = parse_start(request.form.get("wanted") if unchosen else request.values.get("start"))
    form = ConfirmForm()
    sequence = parse_sequence(request.form.get("sequence")) if request.method == "POST" else None
    error: str | None = None
    alternatives: list[datetime] = []
    status = 200

    # Times with this therapist, the appointment's own time not counting as taken.
    search = Search(
        now=now,
        therapists=[therapist],
        exclude_appointment_id=appointment.id,
        patient_id=appointment.patient_id,
    )
    if unchosen:  # sent from the list of alternatives without picking one: offer it again
        error = "Choose one of the times below."
        alternatives = distinct_starts(nearest_slots(catalog, service, start, **search))
    elif request.method == "GET":
        free = slot_at(catalog, service, start, **search)
        if free is None:
            error = "That time is not available any more."
            alternatives = distinct_starts(nearest_slots(catalog, service, start, **search))
    elif form.validate_on_submit():
        try:
            booking.reschedule(
                appointment.id,
                start,
                now=now,
                therapist_id=therapist.id,
                expected_sequence=sequence,
            )
        except SlotUnavailable as exc:
            error = exc.message
            alternatives = distinct_starts(exc.alternatives)
            status = 409
        except BookingError as exc:
            flash(exc.message, "error")
            return redirect(url_for("manage.show", token=token), 303)
        else:
            flash("Your appointment has been moved to the new time.", "success")
            return redirect(url_for("manage.show", token=token), 303)
    return render_template(
        "manage/reschedule_confirm.html",
        token=token,
        appointment=appointment,
        service=service,
        therapist=therapist,
        start=start,
        start_param=format_start(start),
        form=form,
        error=error,
        unchosen=unchosen,
        alternatives=alternatives,
        format_start=format_start,
        zone=catalog.clinic.zone,
        clinic=catalog.clinic,
        late=late_check(catalog, now),
    ), status


@bp.route("/<token>/cancel", methods=["GET", "POST"])
@changes_limit
def cancel(token: str) -> Response | str:
    catalog, appointment, now = _open(token)
    if not booking.changeable_online(appointment, catalog.clinic, now):
        return redirect(url_for("manage.show", token=token))
    form = CancelForm()
    sequence = parse_sequence(request.form.get("sequence")) if request.method == "POST" else None
    if form.validate_on_submit():
        try:
            booking.cancel(
                appointment.id,
                now=now,
                reason=form.reason.data or "",
                expected_sequence=sequence,
            )
        except BookingError as exc:
            flash(exc.message, "error")
        else:
            flash("Your appointment has been cancelled.", "success")
        return redirect(url_for("manage.show", token=token), 303)
    return render_template(
        "manage/cancel.html",
        token=token,
        appointment=appointment,
        form=form,
        zone=catalog.clinic.zone,
        **_parts(catalog, appointment),
    )


@bp.route("/<token>/screening", methods=["GET", "POST"])
@changes_limit
def screening(token: str) -> Response | str | tuple[str, int]:
    """The safety questions reception left for the patient to answer before the visit."""
    catalog, appointment, now = _open(token)
    if not screenings.pending_for(appointment.id):
        return redirect(url_for("manage.show", token=token))
    form = ScreeningForm()
    if form.validate_on_submit():
        try:
            screenings.answer(
                appointment.id, form.screening() or {}, consent=Consent.ONLINE,
                actor="patient", now=now,
            )  # fmt: skip
        except BookingError as exc:
            flash(exc.message, "error")
        else:
            flash("Thank you: your answers are with your therapist.", "success")
        return redirect(url_for("manage.show", token=token), 303)
    status = 422 if form.errors else 200
    return render_template(
        "manage/screening.html",
        token=token,
        appointment=appointment,
        form=form,
        zone=catalog.clinic.zone,
        **_parts(catalog, appointment),
    ), status


def _open(token: str) -> tuple[Catalog, Appointment, datetime]:
    now = clock.now()
    try:
        appointment = booking.appointment_for_token(token, now=now)
    except NotFound:
        abort(404)
    return current(), appointment, now


def _page(template: str, token: str) -> str:
    catalog, appointment, now = _open(token)
    clinic = catalog.clinic
    parts = _parts(catalog, appointment)
    return render_template(
        template,
        token=token,
        appointment=appointment,
        zone=clinic.zone,
        changeable=booking.changeable_online(appointment, clinic, now),
        past=appointment.start_at <= now or appointment.status in PAST,
        cancelled=appointment.status == Status.CANCELLED,
        deadline=booking.change_deadline(appointment, clinic),
        google_url=google_calendar_url(appointment, **parts),
        screening_pending=appointment.status == Status.BOOKED
        and appointment.end_at > now
        and screenings.pending_for(appointment.id),
        next_visit=rebook.offer(appointment, now=now),
        format_start=format_start,
        **parts,
    )


def _parts(catalog: Catalog, appointment: Appointment) -> Parts:
    """Return the appointment's service, therapist and clinic, from the catalog snapshot."""
    return Parts(
        service=catalog.services[appointment.service_id],
        therapist=catalog.therapist(appointment.therapist_id),
        clinic=catalog.clinic,
    )


def _target(
    catalog: Catalog, appointment: Appointment, service: ServiceInfo, raw: str | None, now: datetime
) -> TherapistInfo:
    """Return the therapist to move to: the current one unless another is chosen."""
    candidates = offering(catalog, service, now)
    wanted = str(appointment.therapist_id) if raw in (None, "") else raw
    for therapist in candidates:
        if wanted == str(therapist.id):
            return therapist
    if raw in (None, "") and candidates:  # their therapist no longer offers it: pick another
        return candidates[0]
    abort(404, description=f"That therapist cannot be booked for {service.name}.")
