"""Finding patients for the front desk, and a patient's record."""

from __future__ import annotations

import re

from sqlalchemy import func, or_, select

from booking.extensions import db
from booking.models import Appointment, Patient

MIN_QUERY = 2
LIMIT = 20


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def search(query: str, *, limit: int = LIMIT) -> list[Patient]:
    """Patients whose name, email or phone contains `query` (case-insensitive)."""
    query = query.strip()
    if len(query) < MIN_QUERY:
        return []
    conditions = [
        func.lower(Patient.name).like(_like(query.lower()), escape="\\"),
        Patient.email.like(_like(query.lower()), escape="\\"),
    ]
    digits = re.sub(r"\D", "", query)
    if len(digits) >= 3:
        # Compare digits only: "604 555 0199" finds "604-555-0199".
        stripped = func.replace(
            func.replace(func.replace(Patient.phone, "-", ""), " ", ""), ".", ""
        )
        conditions.append(stripped.like(_like(digits), escape="\\"))
    return list(
        db.session.scalars(
            select(Patient).where(or_(*conditions)).order_by(Patient.name).limit(limit)
        )
    )


def appointments_of(patient_id: int) -> list[Appointment]:
    return list(
        db.session.scalars(
            select(Appointment)
            .where(Appointment.patient_id == patient_id)
            .order_by(Appointment.start_at.desc())
        )
    )
