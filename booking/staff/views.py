"""The staff workspace's pages. Each view checks who is asking, then calls one service."""

from __future__ import annotations

import re
import secrets
from datetime import date, datetime, time, timedelta
from urllib.parse import urlsplit

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_user, logout_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from booking import clock
from booking.extensions import db, limiter
from booking.links import webcal
from booking.models import (
    QUESTIONS,
    Appointment,
    AuditEvent,
    OutboxMessage,
    Patient,
    Role,
    Screening,
    Source,
    StaffUser,
    Status,
    Therapist,
)
from booking.public.params import format_start, parse_start
from booking.public.week import monday_of
from booking.services import accounts, booking, checkin, feeds, patients, schedule
from booking.services import catalog as catalogs
from booking.services import hours as hours_service
from booking.services.availability import find_slots, nearest_slots
from booking.services.booking import BookingRequest, PatientDetails
from booking.services.clinic import local_day_bounds
from booking.services.errors import BookingError, InvalidRequest
from booking.services.validation import calendar_date
from booking.staff import bp
from booking.staff.access import (
    DESK,
    EVERYONE,
    mark_signed_in,
    require,
    require_therapist_access,
)
from booking.staff.forms import (
    ActionForm,
    ChangeForm,
    LoginForm,
    PasswordForm,
    PhoneBookingForm,
    SearchForm,
    StaffCancelForm,
    TimeOffForm,
)
from booking.templating import when_text

SAFE_PATH = re.compile(r"/staff/[A-Za-z0-9/_.~%=&?:+-]*", re.ASCII)


@bp.after_request
def private(response: Response) -> Response:
    # Patient details: never kept by a browser's or proxy's cache, never indexed.
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response


def _login_limit() -> str:
    from flask import current_app

    return current_app.config["LOGIN_RATE_LIMIT"]


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def login() -> Response | str:
    if current_user.is_authenticated:
        return redirect(url_for("staff.home"))
    form = LoginForm(next=request.args.get("next", ""))
    failed = False
    if form.validate_on_submit():
        user = accounts.authenticate(form.email.data, form.password.data, now=clock.now())
        if user is not None:
            login_user(user)
            mark_signed_in()
            return redirect(_safe_next(form.next.data) or url_for("staff.home"))
        failed = True
    status = 401 if failed else 200
    return render_template("staff/login.html", form=form, failed=failed), status


def _safe_next(target: str | None) -> str | None:
    """Only a path inside the workspace: never another site (an open redirect)."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/staff/"):
        return None
    if not SAFE_PATH.fullmatch(target) or re.search(r"%(?:[01][0-9a-f]|7f)", target, re.I):
        return None  # no backslash, no control character, not even percent-encoded
    return target


@bp.post("/logout")
@require(*EVERYONE)
def logout() -> Response:
    if not ActionForm().validate_on_submit():
        abort(400, description="This form is not valid. Please reload the page and try again.")
    logout_user()
    flash("You are signed out.", "info")
    return redirect(url_for("staff.login"))


@bp.route("/password", methods=["GET", "POST"])
@require(*EVERYONE)
def password() -> Response | str:
    form = PasswordForm()
    if form.validate_on_submit():
        try:
            user = accounts.change_password(
                current_user.id, form.current.data, form.new.data, now=clock.now()
            )
        except InvalidRequest as exc:
            for name, message in exc.details["fields"].items():
                getattr(form, name, form.current).errors.append(message)
        else:
            login_user(user)  # this session stays; every other one is signed out
            mark_signed_in()
            flash("Your password is changed. Other devices are signed out.", "success")
            return redirect(url_for("staff.home"))
    return render_template("staff/password.html", form=form)


@bp.get("/")
@require(*EVERYONE)
def home() -> Response:
    return redirect(url_for("staff.day"))


@bp.get("/day")
@require(*EVERYONE)
def day() -> str:
    catalog = catalogs.current()
    zone = catalog.clinic.zone
    today = clock.now().astimezone(zone).date()
    shown = _date_param(today)
    mine = [current_user.therapist_id] if current_user.role == Role.THERAPIST else None
    plan = schedule.day_schedule(shown, therapist_ids=mine)
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
    require_therapist_access(therapist_id)
    catalog = catalogs.current()
    zone = catalog.clinic.zone
    today = clock.now().astimezone(zone).date()
    monday = monday_of(_date_param(today))
    if therapist_id not in catalog.therapists and not _therapist_exists(therapist_id):
        abort(404)
    plan = schedule.week_schedule(therapist_id, monday)
    return render_template(
        "staff/week.html",
        plan=plan,
        therapist=plan.columns[0].therapist,
        monday=monday,
        today=today,
        previous=monday - timedelta(days=7),
        following=monday + timedelta(days=7),
        zone=zone,
    )


@bp.get("/appointments/<int:appointment_id>")
@require(*EVERYONE)
def appointment(appointment_id: int) -> str:
    return render_template("staff/appointment.html", **_appointment_page(appointment_id))


@bp.route("/appointments/<int:appointment_id>/cancel", methods=["GET", "POST"])
@require(*DESK)
def cancel(appointment_id: int) -> Response | str:
    page = _appointment_page(appointment_id)
    visit = page["appointment"]
    form = StaffCancelForm(sequence=str(visit.sequence))
    if form.validate_on_submit():
        try:
            booking.cancel(
                appointment_id,
                now=clock.now(),
                reason=form.reason.data,
                actor=f"staff:{current_user.id}",
                enforce_cutoff=False,
                expected_sequence=_sequence(request.form.get("sequence")),
            )
        except BookingError as exc:
            flash(exc.message, "error")
            return redirect(url_for("staff.appointment", appointment_id=appointment_id))
        flash("The appointment is cancelled; the patient and therapist are emailed.", "success")
        return redirect(url_for("staff.appointment", appointment_id=appointment_id))
    return render_template("staff/cancel.html", form=form, **page)


@bp.post("/appointments/<int:appointment_id>/mark/<what>")
@require(*DESK)
def mark(appointment_id: int, what: str) -> Response:
    _appointment_page(appointment_id)  # 404 for an unknown visit
    try:
        chosen = checkin.Mark(what)
    except ValueError:
        abort(404)
    form = ChangeForm()
    if not form.validate_on_submit():
        abort(400, description="This form is not valid. Please reload the page and try again.")
    try:
        checkin.mark(appointment_id, chosen, actor=f"staff:{current_user.id}", now=clock.now())
    except BookingError as exc:
        flash(exc.message, "error")
    else:
        flash(f"Marked {chosen.value.replace('_', '-')}.", "success")
    return redirect(url_for("staff.appointment", appointment_id=appointment_id))


def _appointment_page(appointment_id: int) -> dict[str, object]:
    visit = db.session.get(Appointment, appointment_id)
    if visit is None:
        abort(404)
    require_therapist_access(visit.therapist_id)
    catalog = catalogs.current()
    history = db.session.scalars(
        select(AuditEvent)
        .where(AuditEvent.entity == "appointment", AuditEvent.entity_id == appointment_id)
        .order_by(AuditEvent.at, AuditEvent.id)
    ).all()
    messages = db.session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.appointment_id == appointment_id)
        .order_by(OutboxMessage.id)
    ).all()
    return {
        "appointment": visit,
        "patient": db.session.get(Patient, visit.patient_id),
        "service": catalog.services[visit.service_id],
        "therapist": catalog.therapists.get(visit.therapist_id) or visit.therapist,
        "screening": db.session.get(Screening, appointment_id),
        "questions": QUESTIONS,
        "history": [(e, _change_text(e, catalog)) for e in history],
        "actors": _actor_names(history),
        "messages": messages,
        "zone": catalog.clinic.zone,
        "now": clock.now(),
        "booked": visit.status == Status.BOOKED,
        "change_form": ChangeForm(sequence=str(visit.sequence)),
    }


def _change_text(event: AuditEvent, catalog: catalogs.Catalog) -> str:
    """What a reschedule changed, in the clinic's words."""
    if event.action != "rescheduled" or not event.before or not event.after:
        return ""
    zone = catalog.clinic.zone
    parts = []
    was, now = event.before, event.after
    if was["start_at"] != now["start_at"]:
        old, new = (datetime.fromisoformat(v["start_at"]) for v in (was, now))
        parts.append(f"from {when_text(old, zone)} to {when_text(new, zone)}")
    if was["therapist_id"] != now["therapist_id"]:
        names = [
            getattr(catalog.therapists.get(v["therapist_id"]), "name", "another therapist")
            for v in (was, now)
        ]
        parts.append(f"from {names[0]} to {names[1]}")
    return "; ".join(parts)


def _actor_names(history: list[AuditEvent]) -> dict[str, str]:
    ids = {int(e.actor.split(":")[1]) for e in history if e.actor.startswith("staff:")}
    names = {"patient": "The patient (online)", "demo": "Demo data", "cli": "Command line"}
    if ids:
        for user in db.session.scalars(select(StaffUser).where(StaffUser.id.in_(ids))):
            names[f"staff:{user.id}"] = f"{user.name} ({user.role})"
    return names


def _date_param(default: date) -> date:
    raw = request.args.get("date")
    if not raw:
        return default
    value = calendar_date(raw)
    if value is None:
        abort(400, description="That date is not valid: use YYYY-MM-DD.")
    return value


def _sequence(raw: str | None) -> int:
    if raw is None or not raw.isascii() or not raw.isdigit() or len(raw) > 9:
        abort(400, description="This form is not valid. Please reload the page and try again.")
    return int(raw)


def _therapist_exists(therapist_id: int) -> bool:
    return db.session.get(Therapist, therapist_id) is not None


@bp.get("/grid.css")
def grid_css() -> Response:
    """Placement classes for the time grid (the CSP allows no inline styles)."""
    rules = [
        f".cols-{n} {{ grid-template-columns: 4rem repeat({n}, minmax(9.5rem, 1fr)); }}"
        for n in range(1, 41)
    ]
    rules += [f".gc-{n} {{ grid-column: {n}; }}" for n in range(1, 42)]
    rules += [f".r-{n} {{ grid-row-start: {n}; }}" for n in range(1, 292)]
    rules += [f".s-{n} {{ grid-row-end: span {n}; }}" for n in range(1, 290)]
    response = Response("\n".join(rules) + "\n", mimetype="text/css")
    response.headers["Cache-Control"] = "public, max-age=86400"
    return response


@bp.route("/therapists/<int:therapist_id>/hours", methods=["GET", "POST"])
@require(*EVERYONE)
def hours(therapist_id: int) -> str | tuple[str, int]:
    therapist = _therapist_or_404(therapist_id)
    form = ActionForm()
    values = {day: list(spans) for day, spans in hours_service.weekly_hours(therapist_id).items()}
    errors: dict[str, str] = {}
    moved_out = None
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400, description="This form is not valid. Please reload the page and try again.")
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


def _read_windows(data) -> tuple[hours_service.Windows, dict[str, str]]:
    """Parse the editor's `d<day>_<n>_start/_end` fields: both blank, or both HH:MM."""
    windows: hours_service.Windows = {day: [] for day in range(7)}
    errors: dict[str, str] = {}
    for day in range(7):
        for n in range(hours_service.MAX_WINDOWS):
            raw = [data.get(f"d{day}_{n}_{edge}", "").strip() for edge in ("start", "end")]
            if not any(raw):
                continue
            parsed = [_wall_time(value) for value in raw]
            if None in parsed:
                name = hours_service.WEEKDAYS[day]
                errors[f"d{day}"] = f"{name}: give each period a start and an end, like 09:00."
                continue
            windows[day].append((parsed[0], parsed[1]))
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
    therapist = _therapist_or_404(therapist_id)
    catalog = catalogs.current()
    zone = catalog.clinic.zone
    form = TimeOffForm()
    moved_out = None
    if form.validate_on_submit():
        start = datetime.combine(form.first_day.data, form.from_time.data or time(), tzinfo=zone)
        last = form.last_day.data or form.first_day.data
        if form.until_time.data:
            end = datetime.combine(last, form.until_time.data, tzinfo=zone)
        else:
            end = datetime.combine(last + timedelta(days=1), time(), tzinfo=zone)
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
            for message in exc.details["fields"].values():
                form.last_day.errors.append(message)
        else:
            flash("The time off is saved; online booking no longer offers those times.", "success")
            form = TimeOffForm(formdata=None)
    status = 422 if form.errors else 200
    return render_template(
        "staff/time_off.html",
        therapist=therapist,
        form=form,
        delete_form=ActionForm(),
        upcoming=hours_service.upcoming_time_off(therapist_id, clock.now()),
        moved_out=moved_out,
        zone=zone,
    ), status


@bp.post("/therapists/<int:therapist_id>/time-off/<int:time_off_id>/delete")
@require(*EVERYONE)
def delete_time_off(therapist_id: int, time_off_id: int) -> Response:
    _therapist_or_404(therapist_id)
    if not ActionForm().validate_on_submit():
        abort(400, description="This form is not valid. Please reload the page and try again.")
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
    therapist = _therapist_or_404(therapist_id)
    form = ActionForm()
    if request.method == "POST":  # make the address, or a new one that kills the old
        if not form.validate_on_submit():
            abort(400, description="This form is not valid. Please reload the page and try again.")
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


def _therapist_or_404(therapist_id: int):
    require_therapist_access(therapist_id)
    therapist = db.session.get(Therapist, therapist_id)
    if therapist is None:
        abort(404)
    return therapist


@bp.get("/book")
@require(*DESK)
def book() -> str:
    """Choose a service, a therapist (or anyone) and a day; the free times follow."""
    catalog = catalogs.current()
    zone = catalog.clinic.zone
    services = catalog.active_services()
    wanted_therapist = request.args.get("therapist", "")
    offered = [
        s for s in services if any(str(t.id) == wanted_therapist for t in catalog.therapists_for(s))
    ]
    # From a therapist's free time in the day view: start with a service they offer.
    default = (offered or services or [None])[0]
    slug = request.args.get("service") or (default.slug if default else "")
    try:
        service = catalog.service(slug)
    except InvalidRequest:
        abort(404, description="There is no such service.")
    candidates = catalog.therapists_for(service)
    therapist = _chosen_therapist(candidates, request.args.get("therapist"))
    today = clock.now().astimezone(zone).date()
    shown = _date_param(today)
    short = request.args.get("short") == "1"
    slots = find_slots(
        catalog,
        service,
        shown,
        shown,
        now=clock.now(),
        therapists=[therapist] if therapist else candidates,
        notice=timedelta(0) if short else None,
    )
    names = {t.id: t.name for t in candidates}
    return render_template(
        "staff/book.html",
        services=services,
        service=service,
        candidates=candidates,
        therapist=therapist,
        shown=shown,
        short=short,
        slots=slots,
        names=names,
        patient_id=request.args.get("patient", ""),
        zone=zone,
        format_start=format_start,
    )


def _chosen_therapist(candidates, raw: str | None):
    if raw in (None, "", "any"):
        return None
    for therapist in candidates:
        if str(therapist.id) == raw:
            return therapist
    abort(404, description="That therapist cannot be booked for this service.")


@bp.route("/book/details", methods=["GET", "POST"])
@require(*DESK)
def book_details() -> Response | str | tuple[str, int]:
    catalog = catalogs.current()
    try:
        service = catalog.service(request.values.get("service", ""))
    except InvalidRequest:
        abort(404, description="There is no such service.")
    therapist = _chosen_therapist(catalog.therapists_for(service), request.values.get("therapist"))
    start = parse_start(request.values.get("start"))
    short = request.values.get("short") == "1"
    search = SearchForm(prefix="find")
    searching = request.method == "POST" and "find-q" in request.form
    if searching and not search.validate_on_submit():
        abort(400, description="This form is not valid. Please reload the page and try again.")
    form = PhoneBookingForm(formdata=None) if searching else PhoneBookingForm()
    patient = None
    raw_patient = request.values.get("patient", "")
    if raw_patient.isascii() and raw_patient.isdigit() and len(raw_patient) <= 9:
        patient = db.session.get(Patient, int(raw_patient))
    if request.method == "GET" or searching:
        form.key.data = secrets.token_urlsafe(16)
        if patient is not None:
            form.name.data, form.email.data, form.phone.data = (
                patient.name,
                patient.email,
                patient.phone,
            )
    problem = ""
    if not searching and form.validate_on_submit():
        wanted = BookingRequest(
            service=service.slug,
            start=start,
            therapist_id=therapist.id if therapist else None,
            patient=PatientDetails(form.name.data, form.email.data, form.phone.data),
            notes=form.note.data or "",
            source=Source.STAFF,
            skip_notice=short,
            skip_prerequisite=form.skip_prerequisite.data,
            override_reason=form.override_reason.data or "",
        )
        try:
            booked = booking.book(
                wanted,
                now=clock.now(),
                actor=f"staff:{current_user.id}",
                idempotency_key=f"staff:{form.key.data}" if form.key.data else None,
            )
        except InvalidRequest as exc:
            for name, message in exc.details["fields"].items():
                target = getattr(form, name, None) or form.override_reason
                target.errors = [*target.errors, message]
        except BookingError as exc:
            problem = exc.message
        else:
            flash("Booked. The patient and the therapist are emailed an invite.", "success")
            return redirect(url_for("staff.appointment", appointment_id=booked.appointment.id))
    query = (search.q.data or "") if searching else ""
    status = 422 if (form.errors or problem) else 200
    return render_template(
        "staff/book_details.html",
        form=form,
        service=service,
        therapist=therapist,
        start=start,
        short=short,
        problem=problem,
        patient=patient,
        search=search,
        query=query,
        matches=patients.search(query) if query else [],
        zone=catalog.clinic.zone,
        start_param=format_start(start),
    ), status


@bp.get("/patients/<int:patient_id>")
@require(*DESK)
def patient(patient_id: int) -> str:
    record = db.session.get(Patient, patient_id)
    if record is None:
        abort(404)
    catalog = catalogs.current()
    now = clock.now()
    visits = patients.appointments_of(patient_id)
    screenings = {
        s.appointment_id: s
        for s in db.session.scalars(
            select(Screening).where(Screening.appointment_id.in_([v.id for v in visits]))
        )
    }
    return render_template(
        "staff/patient.html",
        patient=record,
        upcoming=[v for v in reversed(visits) if v.start_at > now and v.status == Status.BOOKED],
        past=[v for v in visits if not (v.start_at > now and v.status == Status.BOOKED)],
        screenings=screenings,
        questions=QUESTIONS,
        services=catalog.services,
        therapist_names={t.id: t.name for t in db.session.scalars(select(Therapist))},
        zone=catalog.clinic.zone,
    )


@bp.route("/patients", methods=["GET", "POST"])
@require(*DESK)
def patients_search() -> str:
    form = SearchForm()
    query = ""
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400, description="This form is not valid. Please reload the page and try again.")
        query = form.q.data or ""
    return render_template(
        "staff/patients.html",
        form=form,
        query=query,
        matches=patients.search(query) if query else [],
    )


@bp.route("/appointments/<int:appointment_id>/move", methods=["GET", "POST"])
@require(*DESK)
def move(appointment_id: int) -> Response | str | tuple[str, int]:
    """Move a visit to another time and/or therapist, chosen from real free times."""
    page = _appointment_page(appointment_id)
    visit: Appointment = page["appointment"]
    catalog = catalogs.current()
    service = catalog.services[visit.service_id]
    zone = catalog.clinic.zone
    candidates = catalog.therapists_for(service)
    form = ChangeForm(sequence=str(visit.sequence))
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400, description="This form is not valid. Please reload the page and try again.")
        target = _chosen_therapist(candidates, request.form.get("therapist"))
        start = parse_start(request.form.get("start"))
        try:
            booking.reschedule(
                appointment_id,
                start,
                now=clock.now(),
                therapist_id=target.id if target else None,
                actor=f"staff:{current_user.id}",
                enforce_cutoff=False,
                expected_sequence=_sequence(request.form.get("sequence")),
            )
        except BookingError as exc:
            flash(exc.message, "error")
            return redirect(_safe_next(request.form.get("back")) or request.path)
        flash("Moved. The patient and the therapists' calendars are updated.", "success")
        back = _safe_next(request.form.get("back"))
        return redirect(back or url_for("staff.appointment", appointment_id=appointment_id))
    therapist = _chosen_therapist(candidates, request.args.get("therapist")) or next(
        (t for t in candidates if t.id == visit.therapist_id), None
    )
    shown = _date_param(visit.start_at.astimezone(zone).date())
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


@bp.get("/therapists/<int:therapist_id>/move-day")
@require(*DESK)
def move_day(therapist_id: int) -> str:
    """A sick day: each of the therapist's visits that day, with the nearest alternatives."""
    therapist = _therapist_or_404(therapist_id)
    catalog = catalogs.current()
    zone = catalog.clinic.zone
    now = clock.now()
    shown = _date_param(now.astimezone(zone).date())
    start, end = local_day_bounds(shown, shown, zone)
    visits = db.session.scalars(
        select(Appointment)
        .where(
            Appointment.therapist_id == therapist_id,
            Appointment.status == Status.BOOKED.value,
            Appointment.start_at >= max(start, now),
            Appointment.start_at < end,
        )
        .order_by(Appointment.start_at)
    ).all()
    rows = []
    for visit in visits:
        service = catalog.services[visit.service_id]
        options = nearest_slots(
            catalog,
            service,
            visit.start_at,
            now=now,
            therapists=catalog.therapists_for(service),
            exclude_appointment_id=visit.id,
            limit=12,
        )
        # Not the same therapist on the same day: that is the day being cleared.
        options = [
            o
            for o in options
            if not (o.therapist_id == therapist_id and o.start.astimezone(zone).date() == shown)
        ][:5]
        rows.append((visit, service, db.session.get(Patient, visit.patient_id), options))
    return render_template(
        "staff/move_day.html",
        therapist=therapist,
        shown=shown,
        rows=rows,
        names={t.id: t.name for t in catalog.therapists.values()},
        zone=zone,
        format_start=format_start,
        back=request.full_path,
        change_forms={visit.id: ChangeForm(sequence=str(visit.sequence)) for visit in visits},
    )
