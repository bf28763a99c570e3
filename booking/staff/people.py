"""A person's record for reception: find, correct, decide proposed changes, merge twins."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from booking import clock
from booking.models import QUESTIONS, Patient, PatientChange, Status
from booking.services import catalog as catalogs
from booking.services import merge, patients, person_edits, proposals, records
from booking.services.courses.progress import progresses
from booking.services.errors import BookingError, InvalidRequest
from booking.staff import bp
from booking.staff.access import DESK, require
from booking.staff.common import clinic_locale
from booking.staff.forms import ActionForm, SearchForm
from booking.staff.record_forms import MergeForm, MoveForm, PersonForm
from booking.web.forms import filled
from booking.web.params import require_valid

DECISIONS = {"accept": True, "reject": False}


def _person_or_404(patient_id: int) -> Patient:
    person = records.find(Patient, patient_id)
    if person is None:
        abort(404)
    return person


def _actor() -> str:
    return f"staff:{current_user.id}"


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
        matches=patients.search(query, locale=clinic_locale()) if query else [],
        waiting=patients.waiting(),
        pending=patients.pending_count(),
    )


@bp.get("/patients/<int:patient_id>")
@require(*DESK)
def patient(patient_id: int) -> str:
    person = _person_or_404(patient_id)
    return _record(person, PersonForm(obj=person, prefix="person"), MoveForm(prefix="move"))[0]


def _record(
    person: Patient, edit: PersonForm, move: MoveForm, problem: str = "",
    twin: int | None = None,
) -> tuple[str, int]:  # fmt: skip
    """The record page: the person, their household, duplicates, changes, visits, history."""
    catalog = catalogs.current()
    now = clock.now()
    visits = patients.appointments_of(person.id)
    if move.email.data is None:
        move.email.data = person.email
    page = render_template(
        "staff/patient.html",
        patient=person,
        edit=edit,
        move=move,
        problem=problem,
        twin=records.find(Patient, twin) if twin else None,
        action=ActionForm(),
        household=patients.household(person),
        duplicates=patients.duplicates(person),
        changes=patients.pending_changes(person.id),
        history=patients.history(person.id),
        upcoming=[v for v in reversed(visits) if v.start_at > now and v.status == Status.BOOKED],
        past=[v for v in visits if not (v.start_at > now and v.status == Status.BOOKED)],
        screenings=records.screenings_of(v.id for v in visits),
        questions=QUESTIONS,
        services=catalog.services,
        therapist_names=records.therapist_names(),
        courses=sorted(
            progresses(patients.course_ids(person.id), now=now).values(), key=lambda c: -c.course_id
        ),
        zone=catalog.clinic.zone,
    )
    return page, 422 if (edit.errors or move.errors or problem) else 200


def _show_errors(form: PersonForm | MoveForm, exc: InvalidRequest) -> None:
    for name, message in exc.fields.items():
        target = form._fields.get(name)
        if target is None:
            raise exc
        target.errors = [*target.errors, message]


@bp.post("/patients/<int:patient_id>/details")
@require(*DESK)
def patient_details(patient_id: int) -> Response | tuple[str, int]:
    """Correct the person's name, preferred name, date of birth and phone (audited)."""
    person = _person_or_404(patient_id)
    form = PersonForm(prefix="person")
    move = MoveForm(prefix="move", formdata=None)
    if not form.validate_on_submit():
        return _record(person, form, move)
    try:
        changed = person_edits.edit_details(
            person.id,
            name=filled(form.name.data),
            preferred_name=form.preferred_name.data or "",
            date_of_birth=form.date_of_birth.data,
            phone=form.phone.data or "",
            actor=_actor(),
            now=clock.now(),
        )
    except InvalidRequest as exc:
        _show_errors(form, exc)
        return _record(person, form, move)
    except person_edits.SamePerson as exc:
        return _record(person, form, move, exc.message, exc.other_id)
    flash("Saved." if changed else "Nothing changed.", "success")
    return redirect(url_for("staff.patient", patient_id=patient_id))


@bp.post("/patients/<int:patient_id>/email")
@require(*DESK)
def patient_email(patient_id: int) -> Response | tuple[str, int]:
    """Change the person's email: move them to that address's household (audited)."""
    person = _person_or_404(patient_id)
    form = MoveForm(prefix="move")
    edit = PersonForm(obj=person, prefix="person", formdata=None)
    if not form.validate_on_submit():
        return _record(person, edit, form)
    try:
        person_edits.move_to_email(
            person.id, filled(form.email.data), actor=_actor(), now=clock.now()
        )
    except InvalidRequest as exc:
        _show_errors(form, exc)
        return _record(person, edit, form)
    except person_edits.SamePerson as exc:
        return _record(person, edit, form, exc.message, exc.other_id)
    flash("The email is changed: their messages go to the new address.", "success")
    return redirect(url_for("staff.patient", patient_id=patient_id))


@bp.post("/patients/<int:patient_id>/changes/<int:change_id>/<decision>")
@require(*DESK)
def patient_change(patient_id: int, change_id: int, decision: str) -> Response:
    """Accept or reject a change the patient typed online (audited)."""
    if decision not in DECISIONS:
        abort(404)
    _person_or_404(patient_id)
    if records.find(PatientChange, change_id) is None:
        abort(404)
    require_valid(ActionForm())
    try:
        proposals.decide(
            change_id, accept=DECISIONS[decision], actor=_actor(), now=clock.now(),
            patient_id=patient_id,
        )  # fmt: skip
    except person_edits.SamePerson as exc:
        flash(exc.message, "error")
    except BookingError as exc:
        flash(exc.message, "error")
    else:
        flash("Accepted: the record is updated." if DECISIONS[decision] else "Rejected.", "success")
    return redirect(url_for("staff.patient", patient_id=patient_id))


def _other(raw: str | None) -> Patient:
    if not raw or not raw.isascii() or not raw.isdigit() or len(raw) > 9:
        abort(400, description="Choose the other record.")
    return _person_or_404(int(raw))


@bp.route("/patients/<int:patient_id>/merge", methods=["GET", "POST"])
@require(*DESK)
def patient_merge(patient_id: int) -> Response | str | tuple[str, int]:
    """Two records of one person side by side; merging keeps one (audited)."""
    person = _person_or_404(patient_id)
    other = _other(request.values.get("other"))
    if other.id == person.id:
        abort(400, description="A record is merged with another record.")
    form = MergeForm()
    form.keep.choices = [("this", f"{person.name} (record {person.id})"),
                         ("other", f"{other.name} (record {other.id})")]  # fmt: skip
    if form.validate_on_submit():
        keep, drop = (person, other) if form.keep.data == "this" else (other, person)
        try:
            merge.merge(keep.id, drop.id, actor=_actor(), now=clock.now())
        except BookingError as exc:
            flash(exc.message, "error")
            return redirect(url_for("staff.patient_merge", patient_id=patient_id, other=other.id))
        flash("Merged: every visit and change is on this record now.", "success")
        return redirect(url_for("staff.patient", patient_id=keep.id))
    catalog = catalogs.current()
    page = render_template(
        "staff/merge.html",
        form=form,
        people=[(p, patients.appointments_of(p.id)) for p in (person, other)],
        clashes=merge.clashes(person.id, other.id),
        services=catalog.services,
        zone=catalog.clinic.zone,
    )
    return page, 422 if form.errors else 200
