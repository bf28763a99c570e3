"""Admin pages: clinic settings, closures, therapists, services and staff accounts."""

from __future__ import annotations

from typing import TypeVar

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import Form

# types-WTForms 3.2 predates SelectChoice (WTForms 3.3).
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]

from booking import clock
from booking.models import Base, Role, Service, StaffUser, Therapist
from booking.services import accounts, admin, records
from booking.services import catalog as catalogs
from booking.services import clinic as clinic_service
from booking.services.errors import BookingError, InvalidRequest
from booking.staff import bp
from booking.staff.access import require
from booking.staff.common import form_page
from booking.staff.forms import (
    AccountForm,
    ActionForm,
    ClosureForm,
    NewPasswordForm,
    ServiceForm,
    SettingsForm,
    TherapistForm,
)
from booking.web.forms import filled
from booking.web.params import BAD_FORM, require_valid

ADMIN = (Role.ADMIN,)
M = TypeVar("M", bound=Base)


def _actor() -> str:
    return f"staff:{current_user.id}"


def _fields_to_form(form: Form, exc: InvalidRequest) -> None:
    for name, message in exc.details.get("fields", {}).items():
        field = getattr(form, name, None)
        if field is None:
            flash(message, "error")
        else:
            field.errors = [*field.errors, message]


def _check_post(form: FlaskForm) -> bool:
    if request.method != "POST":
        return False
    if form.validate_on_submit():
        return True
    if "csrf_token" in form.errors:
        abort(400, description=BAD_FORM)
    return False


@bp.get("/admin")
@require(*ADMIN)
def admin_home() -> str:
    return render_template(
        "staff/admin/index.html",
        therapists=records.therapists(),
        services=records.services(),
        users=records.accounts(),
        closures=records.closures(),
        today=clock.now().astimezone(catalogs.current().clinic.zone).date(),
    )


@bp.route("/admin/settings", methods=["GET", "POST"])
@require(*ADMIN)
def admin_settings() -> Response | str | tuple[str, int]:
    current = clinic_service.settings()
    form = SettingsForm(data=current)
    if _check_post(form):
        changed = {
            name: str(getattr(form, name).data if getattr(form, name).data is not None else "")
            for name in clinic_service.SETTINGS
            if getattr(form, name).data != current[name]
        }
        try:
            clinic_service.change_settings(
                changed,
                actor=_actor(),
                now=clock.now(),
                short_reminder_ok=form.short_reminder_ok.data,
            )
        except InvalidRequest as exc:
            _fields_to_form(form, exc)
        else:
            flash("The clinic settings are saved.", "success")
            return redirect(url_for("staff.admin_settings"))
    # The confirmation is a second, deliberate step: offered only after the refusal.
    confirm = form.short_reminder_ok.data or (
        bool(form.reminder_lead_minutes.errors)
        and isinstance(form.reminder_lead_minutes.data, int)
        and isinstance(form.cancel_cutoff_minutes.data, int)
        and clinic_service.reminder_too_short(
            form.reminder_lead_minutes.data, form.cancel_cutoff_minutes.data
        )
    )
    return form_page("staff/admin/settings.html", form, confirm_short_reminder=confirm)


@bp.route("/admin/closures", methods=["GET", "POST"])
@require(*ADMIN)
def admin_closures() -> Response | str | tuple[str, int]:
    form = ClosureForm()
    if _check_post(form):
        try:
            admin.add_closure(
                filled(form.first_day.data),
                form.last_day.data or filled(form.first_day.data),
                form.reason.data or "",
                actor=_actor(),
                now=clock.now(),
            )
        except InvalidRequest as exc:
            _fields_to_form(form, exc)
        else:
            flash("The closure is saved; online booking offers no times on those days.", "success")
            return redirect(url_for("staff.admin_closures"))
    return form_page("staff/admin/closures.html", form, closures=records.closures())


@bp.post("/admin/closures/<int:closure_id>/delete")
@require(*ADMIN)
def admin_closure_delete(closure_id: int) -> Response:
    require_valid(ActionForm())
    try:
        admin.remove_closure(closure_id, actor=_actor(), now=clock.now())
    except BookingError:
        abort(404)
    flash("The closure is removed.", "success")
    return redirect(url_for("staff.admin_closures"))


def _existing(model: type[M], row_id: int | None) -> M | None:
    """The row being edited (404 if it does not exist), or None for a new one."""
    if row_id is None:
        return None
    row = records.find(model, row_id)
    if row is None:
        abort(404)
    return row


def _service_choices() -> list[SelectChoice]:
    return [SelectChoice(s.id, s.name) for s in records.services()]


@bp.route("/admin/therapists/new", methods=["GET", "POST"], defaults={"therapist_id": None})
@bp.route("/admin/therapists/<int:therapist_id>", methods=["GET", "POST"])
@require(*ADMIN)
def admin_therapist(therapist_id: int | None) -> Response | str | tuple[str, int]:
    therapist = _existing(Therapist, therapist_id)
    form = TherapistForm(obj=therapist)
    form.services.choices = _service_choices()
    if request.method == "GET":
        form.services.data = [s.id for s in therapist.services] if therapist else []
        if therapist is None:
            form.active.data = True
    if _check_post(form):
        data = admin.TherapistData(
            name=filled(form.name.data),
            bio=form.bio.data or "",
            email=form.email.data or "",
            active=form.active.data,
            ims_certified=form.ims_certified.data,
            ims_certification_expires=form.ims_certification_expires.data,
            service_ids=tuple(form.services.data or ()),
        )
        try:
            saved = admin.save_therapist(therapist_id, data, actor=_actor(), now=clock.now())
        except InvalidRequest as exc:
            _fields_to_form(form, exc)
        else:
            flash(f"{saved.name} is saved.", "success")
            return redirect(url_for("staff.admin_home"))
    return form_page("staff/admin/therapist.html", form, therapist=therapist)


@bp.route("/admin/services/new", methods=["GET", "POST"], defaults={"service_id": None})
@bp.route("/admin/services/<int:service_id>", methods=["GET", "POST"])
@require(*ADMIN)
def admin_service(service_id: int | None) -> Response | str | tuple[str, int]:
    service = _existing(Service, service_id)
    form = ServiceForm(obj=service)
    form.prerequisite.choices = [SelectChoice(0, "None: a first visit")] + [
        c for c in _service_choices() if c.value != service_id
    ]
    if request.method == "GET":
        form.prerequisite.data = service.prerequisite_id or 0 if service else 0
        if service is None:
            form.active.data = True
    if _check_post(form):
        data = admin.ServiceData(
            slug=filled(form.slug.data),
            name=filled(form.name.data),
            description=form.description.data or "",
            preparation=form.preparation.data or "",
            duration_minutes=filled(form.duration_minutes.data),
            buffer_minutes=filled(form.buffer_minutes.data),
            requires_ims=form.requires_ims.data,
            prerequisite_id=form.prerequisite.data or None,
            active=form.active.data,
            reassessment=form.reassessment.data,
        )
        try:
            saved = admin.save_service(service_id, data, actor=_actor(), now=clock.now())
        except InvalidRequest as exc:
            _fields_to_form(form, exc)
        else:
            flash(f"{saved.name} is saved.", "success")
            return redirect(url_for("staff.admin_home"))
    return form_page("staff/admin/service.html", form, service=service)


@bp.route("/admin/accounts/new", methods=["GET", "POST"])
@require(*ADMIN)
def admin_account() -> Response | str | tuple[str, int]:
    form = AccountForm()
    form.therapist.choices = [SelectChoice(0, "Not a therapist")] + [
        SelectChoice(t.id, t.name) for t in records.therapists()
    ]
    if _check_post(form):
        try:
            user = accounts.create_user(
                email=filled(form.email.data),
                name=filled(form.name.data),
                password=filled(form.password.data),
                role=Role(form.role.data),
                therapist_id=form.therapist.data or None,
                actor=_actor(),
                now=clock.now(),
            )
        except InvalidRequest as exc:
            _fields_to_form(form, exc)
        else:
            flash(f"The account {user.email} is made. Give them the password in person.", "success")
            return redirect(url_for("staff.admin_home"))
    return form_page("staff/admin/account.html", form)


@bp.route("/admin/accounts/<int:user_id>/password", methods=["GET", "POST"])
@require(*ADMIN)
def admin_account_password(user_id: int) -> Response | str | tuple[str, int]:
    if user_id == current_user.id:  # one's own: with the current password, staying signed in
        return redirect(url_for("staff.password"))
    user = records.find(StaffUser, user_id)
    if user is None:
        abort(404)
    form = NewPasswordForm()
    if _check_post(form):
        try:
            accounts.reset_password(user_id, filled(form.new.data), actor=_actor(), now=clock.now())
        except InvalidRequest as exc:
            form.new.errors = [*form.new.errors, *exc.details["fields"].values()]
        except BookingError:
            abort(404)
        else:
            flash(
                f"{user.name} has a new password and is signed out everywhere."
                " Give them the password in person.",
                "success",
            )
            return redirect(url_for("staff.admin_home"))
    return form_page("staff/admin/account_password.html", form, user=user)


@bp.post("/admin/accounts/<int:user_id>/<any(enable, disable):what>")
@require(*ADMIN)
def admin_account_switch(user_id: int, what: str) -> Response:
    require_valid(ActionForm())
    try:
        admin.set_account_active(
            user_id, what == "enable", actor_id=current_user.id, now=clock.now()
        )
    except InvalidRequest as exc:
        flash(next(iter(exc.details["fields"].values())), "error")
    except BookingError:
        abort(404)
    else:
        flash("The account is switched " + ("on." if what == "enable" else "off."), "success")
    return redirect(url_for("staff.admin_home"))
