"""Public pages."""

from __future__ import annotations

from flask import render_template

from booking.public import bp
from booking.services.catalog import current


@bp.get("/")
def index() -> str:
    catalog = current()
    return render_template(
        "public/index.html", clinic=catalog.clinic, services=catalog.active_services()
    )
