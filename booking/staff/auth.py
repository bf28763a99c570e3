"""Signing in and out, changing a password; every staff page is private to its browser."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response
from wtforms import Field

from booking import clock, ratelimit
from booking.models import Role
from booking.services import accounts
from booking.services.errors import InvalidRequest
from booking.staff import bp
from booking.staff.access import (
    EVERYONE,
    require,
    sign_in,
    sign_out,
)
from booking.staff.common import safe_next
from booking.staff.forms import (
    ActionForm,
    LoginForm,
    PasswordForm,
)
from booking.web.forms import filled
from booking.web.params import require_valid


@bp.after_request
def private(response: Response) -> Response:
    if response.cache_control.public:  # grid.css: the same for everyone, no patient data
        return response
    # Patient details: never kept by a browser's or proxy's cache, never indexed.
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response


@bp.route("/login", methods=["GET", "POST"])
@ratelimit.limit(setting="LOGIN_RATE_LIMIT", scope="sign-in")
def login() -> Response | tuple[str, int]:
    if current_user.is_authenticated:
        return redirect(url_for("staff.home"))
    form = LoginForm(next=request.args.get("next", ""))
    failed = False
    if form.validate_on_submit():
        user = accounts.authenticate(filled(form.email.data), filled(form.password.data))
        if user is not None:
            sign_in(user)
            return redirect(safe_next(form.next.data) or url_for("staff.home"))
        failed = True
    status = 401 if failed else 200
    return render_template("staff/login.html", form=form, failed=failed), status


@bp.post("/logout")
@require(*EVERYONE)
def logout() -> Response:
    require_valid(ActionForm())
    sign_out()  # on the server too: a copy of the cookie opens nothing now
    flash("You are signed out.", "info")
    return redirect(url_for("staff.login"))


@bp.route("/password", methods=["GET", "POST"])
@require(*EVERYONE)
def password() -> Response | str:
    form = PasswordForm()
    if form.validate_on_submit():
        try:
            user = accounts.change_password(
                current_user.id, filled(form.current.data), filled(form.new.data), now=clock.now()
            )
        except InvalidRequest as exc:
            for name, message in exc.details["fields"].items():
                field: Field = getattr(form, name, form.current)
                field.errors = [*field.errors, message]
        else:
            sign_in(user)  # every session of the account ended: this device begins a new one
            flash("Your password is changed. Other devices are signed out.", "success")
            return redirect(url_for("staff.home"))
    return render_template("staff/password.html", form=form)


@bp.get("/")
@require(*EVERYONE)
def home() -> Response:
    """Where staff land: a therapist on their own week, the desk on the clinic's day."""
    if current_user.role == Role.THERAPIST and current_user.therapist_id:
        return redirect(url_for("staff.week", therapist_id=current_user.therapist_id))
    return redirect(url_for("staff.day"))
