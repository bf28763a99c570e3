"""Reception books for a caller, and finds patients and their records."""

from __future__ import annotations

import secrets
from datetime import timedelta

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from booking import clock
from booking.availability import Slot
from booking.models import (
    Consent,
    Patient,
    Source,
)
from booking.services import booking, patients, records
from booking.services import catalog as catalogs
from booking.services.availability import find_slots
from booking.services.booking import BookingRequest, PatientDetails
from booking.services.errors import BookingError, InvalidRequest, SlotUnavailable
from booking.services.screening import needs_screening
from booking.staff import bp
from booking.staff.access import (
    DESK,
    require,
)
from booking.staff.common import (
    chosen_therapist,
    clinic_locale,
    date_param,
)
from booking.staff.forms import (
    KnownPhoneAssessmentForm,
    KnownPhoneBookingForm,
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
    patient = None
    raw_patient = request.values.get("patient", "")
    if raw_patient.isascii() and raw_patient.isdigit() and len(raw_patient) <= 9:
        patient = records.find(Patient, int(raw_patient))
    form = _phone_form(needs_screening(service), known=patient is not None, blank=searching)
    if request.method == "GET" or searching:
        form.key.data = secrets.token_urlsafe(16)
    problem = ""
    nearest: list[Slot] = []
    if not searching and form.validate_on_submit():
        wanted = BookingRequest(
            service=service.slug,
            start=start,
            therapist_id=therapist.id if therapist else None,
            person_id=patient.id if patient is not None else None,
            patient=None if patient is not None else _caller(form),
            notes=form.note.data or "",
            source=Source.STAFF,
            skip_notice=short,
            skip_prerequisite=form.skip_prerequisite.data,
            skip_spacing=form.skip_spacing.data,
            skip_reassessment=form.skip_reassessment.data,
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
        except SlotUnavailable as exc:  # taken, or too close to their other needling visit
            problem = exc.message
            nearest = list(exc.alternatives)
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
        nearest=nearest,
        names={t.id: t.name for t in catalog.therapists.values()},
        spacing=catalog.clinic.needling_spacing_days,
        format_start=format_start,
        patient=patient,
        search=search,
        query=query,
        matches=patients.search(query, locale=clinic_locale()) if query else [],
        zone=catalog.clinic.zone,
        start_param=format_start(start),
    ), status


def _phone_form(screened: bool, *, known: bool, blank: bool) -> PhoneBookingForm:
    """The phone booking's form: the caller's details, unless the person is on record."""
    if screened:
        form_class: type[PhoneBookingForm] = (
            KnownPhoneAssessmentForm if known else PhoneAssessmentForm
        )
    else:
        form_class = KnownPhoneBookingForm if known else PhoneBookingForm
    return form_class(formdata=None) if blank else form_class()


def _caller(form: PhoneBookingForm) -> PatientDetails:
    return PatientDetails(
        filled(form.name.data),
        filled(form.email.data),
        filled(form.phone.data),
        date_of_birth=form.date_of_birth.data,
        booker=form.booked_by(),
    )
