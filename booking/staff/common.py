"""What the staff views share: strict URL and form parameters, and safe redirects."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date
from typing import Any
from urllib.parse import urlsplit

from flask import abort, render_template, request
from wtforms import Form

from booking.models import Therapist
from booking.services import catalog as catalogs
from booking.services import patients, records
from booking.services.catalog import TherapistInfo
from booking.services.validation import calendar_date
from booking.staff import bp
from booking.staff.access import require_therapist_access

SAFE_PATH = re.compile(r"/staff/[A-Za-z0-9/_.~%=&?:+-]*", re.ASCII)


def safe_next(target: str | None) -> str | None:
    """Only a path inside the workspace: never another site (an open redirect)."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/staff/"):
        return None
    if not SAFE_PATH.fullmatch(target) or re.search(r"%(?:[01][0-9a-f]|7f)", target, re.I):
        return None  # no backslash, no control character, not even percent-encoded
    return target


def date_param(default: date) -> date:
    raw = request.args.get("date")
    if not raw:
        return default
    value = calendar_date(raw)
    if value is None:
        abort(400, description="That date is not valid: use YYYY-MM-DD.")
    return value


def therapist_or_404(therapist_id: int) -> Therapist:
    require_therapist_access(therapist_id)
    therapist = records.find(Therapist, therapist_id)
    if therapist is None:
        abort(404)
    return therapist


def chosen_therapist(candidates: Iterable[TherapistInfo], raw: str | None) -> TherapistInfo | None:
    if raw in (None, "", "any"):
        return None
    for therapist in candidates:
        if str(therapist.id) == raw:
            return therapist
    abort(404, description="That therapist cannot be booked for this service.")


def form_page(template: str, form: Form, **context: Any) -> tuple[str, int]:
    """Render a form's page: 422 when it comes back with errors, so clients can tell."""
    return render_template(template, form=form, **context), 422 if form.errors else 200


def clinic_locale() -> str:
    return catalogs.current().clinic.locale or "en_CA"


@bp.app_template_filter("born")
def born(value: date | None) -> str:
    """A date of birth as the clinic writes dates ("May 17, 1980"); a dash for none."""
    return "—" if value is None else patients.shown_date(value, clinic_locale())
