"""A course of care: planned from a visit, its sessions proposed and booked whole, followed.

The pages only carry what staff chose; `services.courses` checks and books every visit, so a
tampered or stale form can do no more than a fresh one (and is told why when it cannot).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

# types-WTForms 3.2 predates SelectChoice (WTForms 3.3).
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]

from booking import clock
from booking.models import Course, CourseStatus, Patient, Role
from booking.services import catalog as catalogs
from booking.services import records
from booking.services.catalog import Catalog
from booking.services.courses import changes
from booking.services.courses.book import Pick, SessionRefused, book_course
from booking.services.courses.plan import ALL_WEEKDAYS, Plan, Proposal, propose
from booking.services.courses.progress import progress
from booking.services.errors import BookingError, InvalidRequest
from booking.services.screening import needs_screening
from booking.staff import bp
from booking.staff.access import EVERYONE, require, require_therapist_access
from booking.staff.course_forms import AddForm, EndForm, PlanForm
from booking.web.params import format_start, parse_start

LATER = "later"


@bp.route("/appointments/<int:appointment_id>/course", methods=["GET", "POST"])
@require(*EVERYONE)
def course_new(appointment_id: int) -> Response | str | tuple[str, int]:
    """Plan a course from a visit (mostly the assessment), propose it, book it."""
    visit = records.visit_summary(appointment_id)
    if visit is None:
        abort(404)
    require_therapist_access(visit.therapist_id)
    catalog = catalogs.current()
    form = PlanForm()
    _choices(form, catalog)
    if request.method == "GET":
        _defaults(form, catalog, visit)
    action = url_for("staff.course_new", appointment_id=visit.id)
    return _planning(form, catalog, visit.patient_id, visit.person_name, action, course=None)


@bp.route("/courses/<int:course_id>/book", methods=["GET", "POST"])
@require(*EVERYONE)
def course_book_more(course_id: int) -> Response | str | tuple[str, int]:
    """Propose and book the sessions of a course that are not booked yet."""
    course = _course_or_404(course_id)
    catalog = catalogs.current()
    form = PlanForm()
    _choices(form, catalog)
    if request.method == "GET":
        _from_course(form, course)
    action = url_for("staff.course_book_more", course_id=course.id)
    person = records.find(Patient, course.patient_id)
    name = person.name if person is not None else ""
    return _planning(form, catalog, course.patient_id, name, action, course=course)


@bp.get("/courses/<int:course_id>")
@require(*EVERYONE)
def course(course_id: int) -> str:
    found = _course_or_404(course_id)
    return _course_page(found)[0]


@bp.post("/courses/<int:course_id>/sessions")
@require(*EVERYONE)
def course_add_sessions(course_id: int) -> Response | tuple[str, int]:
    found = _course_or_404(course_id)
    form = AddForm(prefix="add")
    if form.validate_on_submit():
        try:
            changes.add_sessions(found.id, form.more.data or 0, actor=_actor(), now=clock.now())
        except BookingError as exc:
            flash(exc.message if not isinstance(exc, InvalidRequest) else _first(exc), "error")
            return redirect(url_for("staff.course", course_id=found.id))
        flash(f"The course has {found.sessions} sessions now.", "success")
        return redirect(url_for("staff.course_book_more", course_id=found.id))
    return _course_page(found, add=form)


@bp.post("/courses/<int:course_id>/end")
@require(*EVERYONE)
def course_end(course_id: int) -> Response | tuple[str, int]:
    found = _course_or_404(course_id)
    form = EndForm(prefix="end")
    if form.validate_on_submit():
        try:
            changes.end(found.id, form.reason.data or "", actor=_actor(), now=clock.now())
        except BookingError as exc:
            flash(exc.message if not isinstance(exc, InvalidRequest) else _first(exc), "error")
            return redirect(url_for("staff.course", course_id=found.id))
        flash("The course has ended. Visits already booked stay booked.", "success")
        return redirect(url_for("staff.course", course_id=found.id))
    return _course_page(found, end=form)


def _planning(
    form: PlanForm,
    catalog: Catalog,
    person_id: int,
    person_name: str,
    action: str,
    *,
    course: Course | None,
) -> Response | str | tuple[str, int]:
    proposal: Proposal | None = None
    status = 200
    if request.method == "POST":
        if not form.validate_on_submit():
            status = 422
        else:
            try:
                plan = _plan(form, person_id, course)
                if request.form.get("step") == "book" and (booked := _book(plan, course, form)):
                    return booked
                proposal = propose(catalog, plan, now=clock.now())
            except SessionRefused as exc:
                flash(exc.message, "error")
                proposal, status = propose(catalog, plan, now=clock.now()), 409
            except InvalidRequest as exc:
                _errors(form, exc)
                status = 422
    page = render_template(
        "staff/course_plan.html",
        form=form,
        action=action,
        person_name=person_name,
        course=course,
        proposal=proposal,
        therapists=catalog.therapists,
        zone=catalog.clinic.zone,
        choice=_choice,
        later=LATER,
    )
    return page, status


def _book(plan: Plan, course: Course | None, form: PlanForm) -> Response | None:
    picks = _picks(plan)
    if not picks:
        flash("Choose at least one visit to book.", "error")
        return None
    booked = book_course(
        plan, picks, now=clock.now(), actor=_actor(), course_id=course.id if course else None
    )
    flash(f"Booked {len(booked.visits)} visits. The patient gets an invite for each and a "
          "summary.", "success")  # fmt: skip
    return redirect(url_for("staff.course", course_id=booked.course_id))


def _picks(plan: Plan) -> list[Pick]:
    """The session choices of the form: a time and a therapist, or later; anything else 400."""
    picks = []
    for number in range(plan.first_number, plan.first_number + plan.sessions):
        raw = request.form.get(f"session-{number}", LATER)
        if raw == LATER:
            continue
        therapist, _, start = raw.partition("@")
        if not therapist.isascii() or not therapist.isdigit() or len(therapist) > 9:
            abort(400, description="This form is not valid. Please reload the page.")
        picks.append(Pick(number, parse_start(start), int(therapist)))
    return picks


def _choice(therapist_id: int, start: object) -> str:
    return f"{therapist_id}@{format_start(start)}"  # type: ignore[arg-type]


def _plan(form: PlanForm, person_id: int, course: Course | None) -> Plan:
    window = None
    if form.window_start.data or form.window_end.data:
        if not (form.window_start.data and form.window_end.data):
            raise InvalidRequest({"window": "Give both ends of the time window, or neither."})
        window = (form.window_start.data, form.window_end.data)
    assert form.first_on.data is not None and form.sessions.data is not None
    plan = Plan(
        person_id=person_id,
        service=form.service.data or "",
        therapist_id=form.therapist_id.data or 0,
        first_on=form.first_on.data,
        sessions=form.sessions.data,
        cadence_days=form.cadence_days.data or 0,
        weekdays=frozenset(form.weekdays.data or ()),
        window=window,
        end_by=form.end_by.data,
    )
    if course is not None:  # the sessions not booked yet, numbered after the others
        held = len(progress(course.id, now=clock.now()).held)
        service = catalogs.current().services[course.service_id].slug  # the course's, always
        plan = replace(plan, service=service, sessions=max(course.sessions - held, 0),
                       first_number=held + 1)  # fmt: skip
        if plan.sessions == 0:
            raise InvalidRequest({"sessions": "Every session of this course is booked."})
    return plan


def _choices(form: PlanForm, catalog: Catalog) -> None:
    form.service.choices = [
        SelectChoice(s.slug, s.name) for s in catalog.active_services() if not needs_screening(s)
    ]
    therapists = list(catalog.therapists.values())
    if current_user.role == Role.THERAPIST:
        therapists = [t for t in therapists if t.id == current_user.therapist_id]
    form.therapist_id.choices = [SelectChoice(t.id, t.name) for t in therapists]


def _defaults(form: PlanForm, catalog: Catalog, visit: records.VisitSummary) -> None:
    """From a visit: its therapist, the follow-up of its service, a week after it."""
    zone = catalog.clinic.zone
    follow_up = next((s for s in catalog.active_services()
                      if s.prerequisite_id == visit.service_id), None)  # fmt: skip
    service = follow_up or catalog.services.get(visit.service_id)
    if service is not None and not needs_screening(service):
        form.service.data = service.slug
    form.therapist_id.data = visit.therapist_id
    today = clock.now().astimezone(zone).date()
    form.first_on.data = max(visit.start_at.astimezone(zone).date() + timedelta(days=7),
                             today + timedelta(days=1))  # fmt: skip
    form.weekdays.data = sorted(ALL_WEEKDAYS)


def _from_course(form: PlanForm, course: Course) -> None:
    catalog = catalogs.current()
    zone = catalog.clinic.zone
    form.service.data = catalog.services[course.service_id].slug
    form.therapist_id.data = course.therapist_id
    form.sessions.data = course.sessions
    form.cadence_days.data = course.cadence_days
    form.weekdays.data = [d for d in range(7) if course.weekdays >> d & 1]
    form.window_start.data, form.window_end.data = course.window_start, course.window_end
    form.end_by.data = course.end_by
    held = progress(course.id, now=clock.now()).held
    today = clock.now().astimezone(zone).date()
    last: date = max((v.start_at for v in held), default=clock.now()).astimezone(zone).date()
    form.first_on.data = max(last + course.cadence, today + timedelta(days=1))


def _errors(form: PlanForm, exc: InvalidRequest) -> None:
    fields = {"window": form.window_start, "person": form.service, "visits": form.sessions}
    for name, message in exc.fields.items():
        target = getattr(form, name, None) or fields.get(name) or form.sessions
        target.errors = [*target.errors, message]


def _first(exc: InvalidRequest) -> str:
    return next(iter(exc.fields.values()), exc.message)


def _course_or_404(course_id: int) -> Course:
    found = records.find(Course, course_id)
    if found is None:
        abort(404)
    require_therapist_access(found.therapist_id)
    return found


def _course_page(
    found: Course, *, add: AddForm | None = None, end: EndForm | None = None
) -> tuple[str, int]:
    catalog = catalogs.current()
    page = render_template(
        "staff/course.html",
        course=found,
        person=records.find(Patient, found.patient_id),
        progress=progress(found.id, now=clock.now()),
        active=found.status == CourseStatus.ACTIVE,
        add=add or AddForm(prefix="add"),
        end=end or EndForm(prefix="end"),
        services=catalog.services,
        therapist=catalog.therapist(found.therapist_id),
        zone=catalog.clinic.zone,
    )
    return page, 422 if (add and add.errors) or (end and end.errors) else 200


def _actor() -> str:
    return f"staff:{current_user.id}"
