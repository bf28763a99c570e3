"""One appointment: its page and history, cancel, check-in marks, moves, the sick-day move."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from booking import clock
from booking.availability import Slot
from booking.dates import Style
from booking.models import (
    QUESTIONS,
    Appointment,
    AuditEvent,
    Patient,
    Role,
    Screening,
    Status,
)
from booking.services import booking, checkin, moves, records, resend
from booking.services import catalog as catalogs
from booking.services import screening as screenings
from booking.services.availability import closest, find_slots, near_days
from booking.services.clinic import local_day_bounds
from booking.services.errors import BookingError
from booking.staff import bp
from booking.staff.access import (
    DESK,
    EVERYONE,
    require,
    require_therapist_access,
)
from booking.staff.common import (
    chosen_therapist,
    date_param,
    safe_next,
    therapist_or_404,
)
from booking.staff.forms import (
    ActionForm,
    ChangeForm,
    MoveForm,
    StaffCancelForm,
)
from booking.web.forms import filled
from booking.web.params import format_start, parse_sequence, parse_start, require_valid

# Who may mark a screening reviewed: a clinical decision, so not the front desk.
REVIEWERS = (Role.THERAPIST, Role.ADMIN)


@bp.get("/appointments/<int:appointment_id>")
@require(*EVERYONE)
def appointment(appointment_id: int) -> str:
    return render_template("staff/appointment.html", **_appointment_page(appointment_id))


@bp.route("/appointments/<int:appointment_id>/cancel", methods=["GET", "POST"])
@require(*DESK)
def cancel(appointment_id: int) -> Response | str:
    visit = _visit_or_404(appointment_id)
    form = StaffCancelForm(sequence=str(visit.sequence))
    if form.validate_on_submit():
        try:
            booking.cancel(
                appointment_id,
                now=clock.now(),
                reason=filled(form.reason.data),
                actor=f"staff:{current_user.id}",
                enforce_cutoff=False,
                expected_sequence=parse_sequence(request.form.get("sequence")),
            )
        except BookingError as exc:
            flash(exc.message, "error")
        else:
            flash("The appointment is cancelled; the patient and therapist are emailed.", "success")
        return redirect(url_for("staff.appointment", appointment_id=appointment_id))
    return render_template("staff/cancel.html", form=form, **_summary(visit, catalogs.current()))


@bp.post("/appointments/<int:appointment_id>/mark/<what>")
@require(*DESK)
def mark(appointment_id: int, what: str) -> Response:
    _visit_or_404(appointment_id)
    try:
        chosen = checkin.Mark(what)
    except ValueError:
        abort(404)
    form = ChangeForm()
    require_valid(form)
    try:
        checkin.mark(appointment_id, chosen, actor=f"staff:{current_user.id}", now=clock.now())
    except BookingError as exc:
        flash(exc.message, "error")
    else:
        flash(f"Marked {chosen.value.replace('_', '-')}.", "success")
    return redirect(url_for("staff.appointment", appointment_id=appointment_id))


@bp.post("/appointments/<int:appointment_id>/screening/reviewed")
@require(*REVIEWERS)
def screening_reviewed(appointment_id: int) -> Response:
    """A therapist has read the screening's answers before needling (audited)."""
    _visit_or_404(appointment_id)  # a therapist: only their own visits
    require_valid(ActionForm())
    try:
        screenings.mark_reviewed(appointment_id, actor=f"staff:{current_user.id}", now=clock.now())
    except BookingError as exc:
        flash(exc.message, "error")
    else:
        flash("The screening is marked reviewed.", "success")
    return redirect(url_for("staff.appointment", appointment_id=appointment_id))


@bp.post("/appointments/<int:appointment_id>/resend")
@require(*DESK)
def resend_confirmation(appointment_id: int) -> Response:
    """Send the patient's confirmation again: the same invite, a new message (audited)."""
    _visit_or_404(appointment_id)
    require_valid(ActionForm())
    try:
        resend.resend_confirmation(
            appointment_id, actor=f"staff:{current_user.id}", now=clock.now()
        )
    except BookingError as exc:
        flash(exc.message, "error")
    else:
        flash("The confirmation is on its way to the patient again.", "success")
    return redirect(url_for("staff.appointment", appointment_id=appointment_id))


def _visit_or_404(appointment_id: int) -> Appointment:
    """The appointment, if this account may see it (a therapist: only their own)."""
    visit = records.find(Appointment, appointment_id)
    if visit is None:
        abort(404)
    require_therapist_access(visit.therapist_id)
    return visit


def _summary(visit: Appointment, catalog: catalogs.Catalog) -> dict[str, object]:
    """What every page about one appointment shows: who, what, when, where."""
    return {
        "appointment": visit,
        "patient": records.find(Patient, visit.patient_id),
        "service": catalog.services[visit.service_id],
        "therapist": catalog.therapist(visit.therapist_id),
        "zone": catalog.clinic.zone,
        "booked": visit.status == Status.BOOKED,
    }


def _appointment_page(appointment_id: int) -> dict[str, object]:
    """The summary, and the screening, the history and every message sent."""
    visit = _visit_or_404(appointment_id)
    catalog = catalogs.current()
    history = records.history(appointment_id)
    messages = records.messages(appointment_id)
    return _summary(visit, catalog) | {
        "screening": records.find(Screening, appointment_id),
        "may_review": current_user.role in REVIEWERS,
        "plan_course": True,  # whoever may see the visit may plan a course from it
        "questions": QUESTIONS,
        "history": [(e, _change_text(e, catalog)) for e in history],
        "actors": _actor_names(history),
        "messages": messages,
        "change_form": ChangeForm(sequence=str(visit.sequence)),
    }


def _change_text(event: AuditEvent, catalog: catalogs.Catalog) -> str:
    """What a reschedule changed, in the clinic's words."""
    if event.action != "rescheduled" or not event.before or not event.after:
        return ""
    zone, style = catalog.clinic.zone, Style.of(catalog.clinic)
    parts = []
    was, now = event.before, event.after
    if was["start_at"] != now["start_at"]:
        old, new = (datetime.fromisoformat(v["start_at"]) for v in (was, now))
        parts.append(f"from {style.when(old, zone)} to {style.when(new, zone)}")
    if was["therapist_id"] != now["therapist_id"]:
        names = [
            getattr(catalog.therapists.get(v["therapist_id"]), "name", "another therapist")
            for v in (was, now)
        ]
        parts.append(f"from {names[0]} to {names[1]}")
    return "; ".join(parts)


def _actor_names(history: Sequence[AuditEvent]) -> dict[str, str]:
    ids = {int(e.actor.split(":")[1]) for e in history if e.actor.startswith("staff:")}
    names = {"patient": "The patient (online)", "demo": "Demo data", "cli": "Command line"}
    if ids:
        for user in records.accounts_among(ids):
            names[f"staff:{user.id}"] = f"{user.name} ({user.role})"
    return names


@bp.route("/appointments/<int:appointment_id>/move", methods=["GET", "POST"])
@require(*DESK)
def move(appointment_id: int) -> Response | str | tuple[str, int]:
    """Move a visit to another time and/or therapist, chosen from real free times."""
    visit = _visit_or_404(appointment_id)
    catalog = catalogs.current()
    service = catalog.services[visit.service_id]
    zone = catalog.clinic.zone
    candidates = catalog.therapists_for(service)
    form = MoveForm(sequence=str(visit.sequence))
    if request.method == "POST":
        require_valid(form)
        target = chosen_therapist(candidates, request.form.get("therapist"))
        start = parse_start(request.form.get("start"))
        try:
            booking.reschedule(
                appointment_id,
                start,
                now=clock.now(),
                therapist_id=target.id if target else None,
                actor=f"staff:{current_user.id}",
                enforce_cutoff=False,
                expected_sequence=parse_sequence(request.form.get("sequence")),
                skip_spacing=form.skip_spacing.data,
                override_reason=form.override_reason.data or "",
            )
        except BookingError as exc:
            fields = exc.details.get("fields") or {}
            flash(" ".join(fields.values()) if fields else exc.message, "error")
            return redirect(safe_next(request.form.get("back")) or request.path)
        flash("Moved. The patient and the therapists' calendars are updated.", "success")
        back = safe_next(request.form.get("back"))
        return redirect(back or url_for("staff.appointment", appointment_id=appointment_id))
    page = _summary(visit, catalog)
    therapist = chosen_therapist(candidates, request.args.get("therapist")) or next(
        (t for t in candidates if t.id == visit.therapist_id), None
    )
    shown = date_param(visit.start_at.astimezone(zone).date())
    slots = (
        find_slots(
            catalog,
            service,
            shown,
            shown,
            now=clock.now(),
            therapists=[therapist] if therapist else candidates,
            exclude_appointment_id=appointment_id,
        )
        if page["booked"]
        else []
    )
    return render_template(
        "staff/move.html",
        **page,
        form=form,
        candidates=candidates,
        chosen=therapist,
        shown=shown,
        slots=[
            s for s in slots if (s.start, s.therapist_id) != (visit.start_at, visit.therapist_id)
        ],
        names={t.id: t.name for t in candidates},
        format_start=format_start,
    )


@bp.get("/appointments/<int:appointment_id>/move/confirm")
@require(*DESK)
def move_confirm(appointment_id: int) -> Response | str:
    """Before a move is made: where the visit is, where it goes, and who is emailed."""
    visit = _visit_or_404(appointment_id)
    catalog = catalogs.current()
    service = catalog.services[visit.service_id]
    target = chosen_therapist(catalog.therapists_for(service), request.args.get("therapist"))
    back = safe_next(request.args.get("back"))
    try:
        preview = moves.preview_move(
            appointment_id,
            parse_start(request.args.get("start")),
            now=clock.now(),
            therapist_id=target.id if target else None,
            expected_sequence=parse_sequence(request.args.get("sequence")),
        )
    except BookingError as exc:
        flash(exc.message, "error")
        return redirect(back or url_for("staff.move", appointment_id=appointment_id))
    return render_template(
        "staff/move_confirm.html",
        **_summary(visit, catalog),
        preview=preview,
        form=MoveForm(sequence=str(preview.sequence)),
        start=format_start(preview.start),
        back=back or "",
        cancel_url=back or url_for("staff.move", appointment_id=appointment_id),
    )


@bp.get("/therapists/<int:therapist_id>/move-day")
@require(*DESK)
def move_day(therapist_id: int) -> str:
    """A sick day: each of the therapist's visits that day, with the nearest alternatives."""
    therapist = therapist_or_404(therapist_id)
    catalog = catalogs.current()
    zone = catalog.clinic.zone
    now = clock.now()
    shown = date_param(now.astimezone(zone).date())
    start, end = local_day_bounds(shown, shown, zone)
    visits = records.booked_visits(therapist_id, max(start, now), end)
    # Every visit looks in the same fortnight around the day, so each service's free times are
    # found once. The cleared therapist's times that day are what is being given up; the
    # visits' own times need not be freed, since they are among those.
    first, last = near_days(shown, now.astimezone(zone).date())
    free: dict[int, list[Slot]] = {}
    for service_id in {visit.service_id for visit, _ in visits}:
        service = catalog.services[service_id]
        slots = find_slots(
            catalog,
            service,
            first,
            last,
            now=now,
            therapists=catalog.therapists_for(service),
        )
        free[service_id] = [
            s
            for s in slots
            if not (s.therapist_id == therapist_id and s.start.astimezone(zone).date() == shown)
        ]
    rows = []
    for visit, patient in visits:
        options = closest(free[visit.service_id], visit.start_at, 5)
        rows.append((visit, catalog.services[visit.service_id], patient, options))
    return render_template(
        "staff/move_day.html",
        therapist=therapist,
        shown=shown,
        rows=rows,
        names={t.id: t.name for t in catalog.therapists.values()},
        zone=zone,
        format_start=format_start,
        back=request.full_path,
    )
