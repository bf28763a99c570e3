"""The booking journey: service, therapist, time, details, then the confirmation (manage)."""

from __future__ import annotations

import re
import secrets
from datetime import date, datetime, time
from typing import Any

from flask import abort, redirect, render_template, request, url_for
from werkzeug.exceptions import TooManyRequests
from werkzeug.wrappers import Response

from booking import clock
from booking.dates import Style
from booking.public import bp, visitor
from booking.public.forms import (
    AccessForm,
    PersonAssessmentForm,
    PersonForm,
    VisitorAssessmentForm,
    VisitorForm,
)
from booking.services import booking
from booking.services.availability import distinct_starts, nearest_slots, slot_at
from booking.services.catalog import Catalog, ServiceInfo, TherapistInfo, current
from booking.services.errors import (
    AssessmentRequired,
    IdempotencyKeyReused,
    InvalidRequest,
    ReassessmentRequired,
    SlotUnavailable,
    TherapistNotOffering,
    TooSoon,
    VerificationRequired,
)
from booking.services.screening import needs_screening
from booking.services.validation import suggest_email
from booking.web.forms import filled
from booking.web.params import (
    count_change,
    format_start,
    parse_day_and_week,
    parse_start,
)
from booking.web.week import build_week, late_check, monday_of, offering

ANY = "any"
BOOKING_KEY = re.compile(r"[A-Za-z0-9_-]{24}", re.ASCII)
USED_FORM = (
    "This form was already used to book an appointment. Please check your confirmation, "
    "or start a new booking."
)
DetailsForm = VisitorForm | PersonForm
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@bp.get("/")
def index() -> str:
    catalog = current()
    return render_template(
        "public/index.html",
        clinic=catalog.clinic,
        hours=clinic_hours(catalog),
        **_services_by_kind(catalog),
    )


@bp.get("/book")
def services() -> tuple[str, int, dict[str, str]]:
    now = clock.now()
    page = render_template(
        "public/services.html",
        fixed=visitor.fixed(now),
        verified=visitor.contact(now) is not None,
        called=visitor.called,
        **_services_by_kind(current()),
    )
    return page, 200, {"Cache-Control": "no-store"}  # it may name the person booked for


@bp.get("/book/<slug>")
def therapists(slug: str) -> str:
    catalog = current()
    service = _service(catalog, slug)
    return render_template(
        "public/therapists.html",
        service=service,
        therapists=offering(catalog, service, clock.now()),
    )


@bp.get("/book/<slug>/times")
def times(slug: str) -> str:
    catalog = current()
    service = _service(catalog, slug)
    choice, chosen = _therapist_choice(catalog, service, request.args.get("therapist"))
    now = clock.now()
    today = now.astimezone(catalog.clinic.zone).date()
    day, wanted = parse_day_and_week(request.args)
    monday = max(monday_of(wanted or today), monday_of(today))
    # Booking for a person of the verified household: leave out the days their needling
    # spacing forbids (anyone else is a new patient, or books as one).
    fixed = visitor.fixed(now)
    person = fixed.person.id if fixed else None
    week = build_week(catalog, service, chosen, monday, now=now, patient_id=person)
    if wanted is None and week.empty and week.first_available is not None:
        # Nothing left this week: open on the first week that has a time, not an empty page.
        monday = monday_of(week.first_available)
        week = build_week(catalog, service, chosen, monday, now=now, patient_id=person)
    param = _therapist_param(choice)
    return render_template(
        "public/times.html",
        service=service,
        choice=choice,
        week=week,
        shown=week.selected(day),
        slot_url=lambda start: url_for(
            "public.details", slug=slug, therapist=param, start=format_start(start)
        ),
        week_url=lambda day: url_for("public.times", slug=slug, therapist=param, week=day),
        day_url=lambda day: url_for("public.times", slug=slug, therapist=param, day=day),
        zone=catalog.clinic.zone,
        clinic=catalog.clinic,
    )


@bp.route("/book/<slug>/details", methods=["GET", "POST"])
def details(slug: str) -> Response | tuple[str, int, dict[str, str]]:
    catalog = current()
    service = _service(catalog, slug)
    choice, chosen = _therapist_choice(catalog, service, request.values.get("therapist"))
    # Sent from a list of alternatives without picking one: offer the same list again.
    unchosen = request.method == "POST" and not request.form.get("start")
    start = parse_start(request.form.get("wanted") if unchosen else request.values.get("start"))
    now = clock.now()
    today = now.astimezone(catalog.clinic.zone).date()
    fixed = visitor.fixed(now)
    form = _details_form(service, fixed is not None, today)
    key = request.form.get("booking_key", "")
    if not BOOKING_KEY.fullmatch(key):
        key = secrets.token_urlsafe(18)
    problem: str | None = None
    email_suggestion: str | None = None
    retry_after = None
    alternatives: list[datetime] = []
    switching = request.method == "POST" and request.form.get("switch") == "1"
    # "First available": the engine names the therapist before the patient books, and the
    # booking asks for that therapist, so nobody gets someone other than the name they saw.
    offered = None if choice is not None else _offered(chosen, request.form.get("offered"))
    person = fixed.person.id if fixed else None
    rule_message = ""  # the rule's own words, for the spacing and the re-assessment
    switch_to = service.prerequisite

    def nearest() -> list[datetime]:  # for a verified person, times that keep their spacing
        found = nearest_slots(
            catalog, service, start, now=now, therapists=chosen, patient_id=person
        )
        return distinct_starts(found)

    if unchosen:
        form.validate_on_submit()  # so every other problem is reported at the same time
        problem = "unchosen"
        offered = None
        alternatives = nearest()
    elif request.method == "GET" or switching:
        free = slot_at(catalog, service, start, now=now, therapists=chosen, patient_id=person)
        if free is None:
            problem = "switched" if switching else "gone"
            alternatives = nearest()
        elif choice is None:
            offered = catalog.therapists.get(free.therapist_id)
    elif form.validate_on_submit() and not (email_suggestion := _email_typo(form)):
        wanted = booking.BookingRequest(
            service=service.slug,
            start=start,
            patient=_patient(form),
            person_id=person,
            contact_id=fixed.contact_id if fixed else None,
            therapist_id=choice.id if choice else offered.id if offered else None,
            notes=form.note.data or "",
            screening=form.screening(),
        )
        try:
            count_change()  # only a complete form counts toward the limit
            # The form's one-time key makes a second send (a double tap without JavaScript,
            # a browser retry) return the first booking instead of making another.
            booked = booking.book(wanted, now=now, idempotency_key=f"site:{key}")
        except TooManyRequests as exc:
            problem = "busy"  # the same page, with everything typed, and when to try again
            retry_after = exc.retry_after
        except IdempotencyKeyReused:
            abort(409, description=USED_FORM)
        except SlotUnavailable as exc:
            problem = "too_soon" if isinstance(exc, TooSoon) else "taken"
            rule_message = exc.message if isinstance(exc, TooSoon) else ""
            alternatives = distinct_starts(exc.alternatives) if offered is None else nearest()
            offered = None  # an alternative goes to whoever is free then
        except AssessmentRequired:
            problem = "assessment"
        except ReassessmentRequired as exc:
            problem = "reassessment"  # the switch below goes to the re-assessment
            rule_message = exc.message
            switch_to = catalog.service(str(exc.details["required_service"]))
        except VerificationRequired:
            problem = "verify"  # the same answer for every email: it is raised before lookup
        except InvalidRequest as exc:
            problem = _field_errors(form, exc)
        except TherapistNotOffering as exc:
            abort(422, description=exc.message)
        else:
            return redirect(url_for("manage.confirmed", token=booked.manage_token), 303)
    status = 409 if problem in ("taken", "too_soon") and request.method == "POST" else 200
    headers = {"Cache-Control": "no-store"}  # the page may hold what the patient typed
    if problem == "busy":
        status = 429
        headers["Retry-After"] = str(retry_after)
    page = render_template(
        "public/details.html",
        service=service,
        choice=choice,
        offered=offered,
        therapist_param=_therapist_param(choice),
        start=start,
        start_param=format_start(start),
        form=form,
        problem=problem,
        alternatives=alternatives,
        rule_message=rule_message,
        format_start=format_start,
        zone=catalog.clinic.zone,
        clinic=catalog.clinic,
        prerequisite=switch_to,
        switching=switching,
        switch_therapist=_switch_therapist(catalog, switch_to, choice),
        booking_key=key,
        email_suggestion=email_suggestion,
        late=late_check(catalog, now),
        fixed=fixed,
        called=visitor.called,
        born=visitor.born_text,
        access_form=AccessForm(
            formdata=None, email=form.email.data if isinstance(form, VisitorForm) else ""
        ),
    )
    return page, status, headers


def clinic_hours(catalog: Catalog) -> list[tuple[str, str]]:
    """Return the clinic's opening hours per weekday: from the first to the last therapist."""
    rows, style = [], Style.of(catalog.clinic)
    for weekday, name in enumerate(WEEKDAYS):
        windows = [
            w for tid in catalog.therapists for w in catalog.hours.get(tid, {}).get(weekday, ())
        ]
        if windows:
            opens: time = min(w[0] for w in windows)
            closes: time = max(w[1] for w in windows)
            rows.append((name, f"{style.time_of_day(opens)} to {style.time_of_day(closes)}"))
        else:
            rows.append((name, "Closed"))
    return rows


def _details_form(service: ServiceInfo, fixed: bool, today: date) -> DetailsForm:
    """The form as sent; "Use name@gmail.com" sends the suggested address in `email_fix`.

    A person fixed by My visits is on record: their form asks only the note (and the
    screening of a first needling visit); anyone else says who the visit is for.
    """
    screened = needs_screening(service)
    if fixed:
        return (PersonAssessmentForm if screened else PersonForm)(today=today)
    form_class = VisitorAssessmentForm if screened else VisitorForm
    fix = request.form.get("email_fix") if request.method == "POST" else None
    if not fix:
        return form_class(today=today)
    data = request.form.copy()
    data["email"] = fix
    return form_class(formdata=data, today=today)


def _patient(form: DetailsForm) -> booking.PatientDetails | None:
    """The typed person, or None for a person on record (My visits)."""
    if not isinstance(form, VisitorForm):
        return None
    return booking.PatientDetails(
        filled(form.name.data),
        filled(form.email.data),
        filled(form.phone.data),
        date_of_birth=form.born(),
        booker=filled(form.booker.data) if form.for_someone() else "",
    )


def _field_errors(form: DetailsForm, error: InvalidRequest) -> str | None:
    """Show the service's refusal of a typed field at that field, as the form's own errors."""
    shown = False
    for key, message in error.fields.items():
        name = key.removeprefix("patient.")
        if name in form and name != "csrf_token":
            form[name].errors = [*form[name].errors, message]
            shown = True
    if not shown:
        abort(422, description=error.message)
    return None


def _email_typo(form: DetailsForm) -> str | None:
    """A likely correction of the address's domain, asked about once, never insisted on."""
    if not isinstance(form, VisitorForm):
        return None
    typed = filled(form.email.data)  # the form is valid: the address is there
    if request.form.get("email_fix") or request.form.get("email_checked") == typed:
        return None  # the patient chose the suggestion, or kept what they typed
    return suggest_email(typed)


def _services_by_kind(catalog: Catalog) -> dict[str, Any]:
    """Split services into first visits, return visits (with a prerequisite) and the rest."""
    active = catalog.active_services()
    prerequisites = {s.prerequisite_id for s in active if s.prerequisite_id}
    return {
        "first_visits": [s for s in active if s.id in prerequisites],
        "return_visits": [s for s in active if s.prerequisite_id],
        "other_services": [
            s for s in active if s.id not in prerequisites and not s.prerequisite_id
        ],
    }


def _service(catalog: Catalog, slug: str) -> ServiceInfo:
    try:
        return catalog.service(slug)
    except InvalidRequest:
        abort(404)


def _therapist_choice(
    catalog: Catalog, service: ServiceInfo, raw: str | None
) -> tuple[TherapistInfo | None, list[TherapistInfo]]:
    """Return (the chosen therapist or None for "first available", whom to search)."""
    candidates = offering(catalog, service, clock.now())
    if raw in (None, "", ANY):
        return None, candidates
    for therapist in candidates:
        if raw == str(therapist.id):
            return therapist, [therapist]
    abort(
        404,
        description=f"That therapist cannot be booked for {service.name}. "
        "Please choose one from the list.",
    )


def _offered(candidates: list[TherapistInfo], raw: str | None) -> TherapistInfo | None:
    """Return the therapist a "first available" form was offered, if still a candidate."""
    return next((t for t in candidates if raw == str(t.id)), None)


def _therapist_param(choice: TherapistInfo | None) -> str:
    return ANY if choice is None else str(choice.id)


def _switch_therapist(
    catalog: Catalog, required: ServiceInfo | None, choice: TherapistInfo | None
) -> str:
    """Return who to ask for the visit switched to (the assessment a follow-up needs, or the
    re-assessment): the same therapist if able."""
    if required is None or choice is None:
        return ANY
    return _therapist_param(choice) if choice in offering(catalog, required, clock.now()) else ANY
