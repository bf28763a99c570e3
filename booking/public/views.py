"""Public pages."""

from __future__ import annotations

from flask import render_template
from sqlalchemy import select

from booking.extensions import db
from booking.models import Service
from booking.public import bp
from booking.services.clinic import get_clinic


@bp.get("/")
def index() -> str:
    services = db.session.scalars(select(Service).where(Service.active).order_by(Service.id))
    return render_template("public/index.html", clinic=get_clinic(), services=list(services))
