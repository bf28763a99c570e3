"""The IMS safety screening a patient answers before their first needling, and their consent."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from booking.models.base import Base

# (column, the question as the patient reads it). A "yes" never blocks a booking: the
# therapist reads the answers before the visit.
QUESTIONS: tuple[tuple[str, str], ...] = (
    ("blood_thinners", "Do you take blood thinners, or have a bleeding disorder?"),
    ("pregnant", "Are you pregnant, or could you be?"),
    ("implant", "Do you have a pacemaker or another implanted electrical device?"),
    ("needle_phobia", "Are you afraid of needles, or have you fainted during treatment?"),
    ("skin_problem", "Do you have an infection or broken skin where you need treatment?"),
    ("lymphoedema", "Do you have lymphoedema?"),
    ("immunocompromised", "Is your immune system weakened (by illness or medication)?"),
    ("metal_allergy", "Are you allergic to metals, such as nickel?"),
)


class Screening(Base):
    """One appointment's screening answers; staff-only, never in logs, URLs or invites."""

    __tablename__ = "screening"

    appointment_id: Mapped[int] = mapped_column(
        ForeignKey("appointment.id", ondelete="CASCADE"), primary_key=True
    )
    blood_thinners: Mapped[bool]
    pregnant: Mapped[bool]
    implant: Mapped[bool]
    needle_phobia: Mapped[bool]
    skin_problem: Mapped[bool]
    lymphoedema: Mapped[bool]
    immunocompromised: Mapped[bool]
    metal_allergy: Mapped[bool]
    consented_at: Mapped[datetime]

    def flagged(self) -> list[str]:
        """Return the questions answered "yes", for the therapist to read."""
        return [text for key, text in QUESTIONS if getattr(self, key)]
