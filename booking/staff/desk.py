"""Reception books for a caller, and finds patients and their records."""

from __future__ import annotations

import secrets
from datetime import timedelta

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from booking import clock
from booking.models import (
    QUESTIONS,
    Consent,
    Patient,
    Source,
    Status,
)
from booking.services import booking, patients, records
from booking.services import catalog as catalogs
from booking.services.availability import find_slots
from booking.services.booking import BookingRequest, PatientDetails
from booking.services.errors import BookingError, InvalidRequest
from booking.services.screening import needs_screening
from booking.services.validation import phone_display
from booking.staff import bp
from booking.staff.access import (
    DESK,
    require,
)
from booking.staff.common import (
    chosen_therapist,
    date_param,
)
from booking.staff.forms import (
    PhoneAssessmentForm,
    PhoneBookingForm,
    SearchForm,
)
from booking.web.forms import filled
from booking.web.params import format_start, parse_start, require_valid

# The booking service's field names that the phone booking form calls otherwise.
FIELDS = {"screening": "screening_mode"}


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
    default = next(iter(offered or services), None)
    slug = request.args.get("service") or (default.slug if default else "")
    try:
        service = catalog.service(slug)
    except InvalidRequest:
        abort(404, description="There is no such service.")
    candidates = catalog.therapists_for(service)
    therapist = chosen_therapist(candidates, request.args.get("therapist"))
    today = clock.now().astimezone(zone).date()
    shown = date_param(today)
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


@bp.route("/book/details", methods=["GET", "POST"])
@require(*DESK)
def book_details() -> Response | str | tuple[str, int]:
    catalog = catalogs.current()
    try:
        service = catalog.service(request.values.get("service", ""))
    except InvalidRequest:
        abort(404, description="There is no such service.")
    therapist = chosen_therapist(catalog.therapists_for(service), request.values.get("therapist"))
    start = parse_start(request.values.get("start"))
    short = request.values.get("short") == "1"
    search = SearchForm(prefix="find")
    searching = request.method == "POST" and "find-q" in request.form
    if searching:
        require_valid(search)
    form_class = PhoneAssessmentForm if needs_screening(service) else PhoneBookingForm
    form = form_class(formdata=None) if searching else form_class()
    patient = None
    raw_patient = request.values.get("patient", "")
    if raw_patient.isascii() and raw_patient.isdigit() and len(raw_patient) <= 9:
        patient = records.find(Patient, int(raw_patient))
    if request.method == "GET" or searching:
        form.key.data = secrets.token_urlsafe(16)
        if patient is not None:
            form.name.data, form.email.data, form.phone.data = (
                patient.name,
                patient.email,
                phone_display(patient.phone) if patient.phone else "",
            )
    problem = ""
    if not searching and form.validate_on_submit():
        wanted = BookingRequest(
            service=service.slug,
            start=start,
            therapist_id=therapist.id if therapist else None,
            patient=PatientDetails(
                filled(form.name.data), filled(form.email.data), filled(form.phone.data)
            ),
            notes=form.note.data or "",
            source=Source.STAFF,
            skip_notice=short,
            skip_prerequisite=form.skip_prerequisite.data,
            override_reason=form.override_reason.data or "",
            screening=form.screening(),
            screening_consent=Consent.VERBAL,
            screening_pending=isinstance(form, PhoneAssessmentForm) and form.pending(),
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
                name = FIELDS.get(name, name.removeprefix("patient."))
                target = form._fields.get(name, form.override_reason)
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
    record = records.find(Patient, patient_id)
    if record is None:
        abort(404)
    catalog = catalogs.current()
    now = clock.now()
    visits = patients.appointments_of(patient_id)
    screenings = records.screenings_of(v.id for v in visits)
    return render_template(
        "staff/patient.html",
        patient=record,
        upcoming=[v for v in reversed(visits) if v.start_at > now and v.status == Status.BOOKED],
        past=[v for v in visits if not (v.start_at > now and v.status == Status.BOOKED)],
        screenings=screenings,
        questions=QUESTIONS,
        services=catalog.services,
        therapist_names=records.therapist_names(),
        zone=catalog.clinic.zone,
    )


@bp.route("/patients", methods=["GET", "POST"])
@require(*DESK)
def patients_search() -> str:
    form = SearchForm()
    query = ""
    if request.method == "POST":
        require_valid(form)
        query = form.q.data or ""
    return render_template(
        "staff/patients.html",
        form=form,
        query=query,
        matches=patients.search(query) if query else [],
    )
