"""The IMS safety screening a patient answers before their first needling, and their consent."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String
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
KEYS = tuple(key for key, _ in QUESTIONS)


class Consent(enum.StrEnum):
    ONLINE = "online"  # the patient answered and ticked consent themselves
    VERBAL = "verbal"  # read over the phone by reception; the caller consented aloud


ANSWERED = " AND ".join(f"{key} IS NOT NULL" for key in KEYS)


class Screening(Base):
    """One appointment's screening; staff-only, never in logs, URLs or invites.

    Pending (no consent yet): reception booked by phone and the patient was emailed a link to
    answer before the visit; the answers are then NULL.
    """

    __tablename__ = "screening"
    __table_args__ = (
        CheckConstraint("consent IS NULL OR consent IN ('online', 'verbal')", name="consent_valid"),
        CheckConstraint(
            f"consent IS NULL OR (consented_at IS NOT NULL AND {ANSWERED})", name="answered"
        ),
        CheckConstraint("reviewed_at IS NULL OR consent IS NOT NULL", name="reviewed_answered"),
    )

    appointment_id: Mapped[int] = mapped_column(
        ForeignKey("appointment.id", ondelete="CASCADE"), primary_key=True
    )
    blood_thinners: Mapped[bool | None]
    pregnant: Mapped[bool | None]
    implant: Mapped[bool | None]
    needle_phobia: Mapped[bool | None]
    skin_problem: Mapped[bool | None]
    lymphoedema: Mapped[bool | None]
    immunocompromised: Mapped[bool | None]
    metal_allergy: Mapped[bool | None]
    consent: Mapped[str | None] = mapped_column(String(16))
    consented_at: Mapped[datetime | None]
    recorded_by: Mapped[str] = mapped_column(String(80), default="patient")  # an actor
    reviewed_at: Mapped[datetime | None]  # a therapist read the answers before needling
    reviewed_by: Mapped[str | None] = mapped_column(String(80))

    @property
    def pending(self) -> bool:
        return self.consent is None

    def flagged(self) -> list[str]:
        """Return the questions answered "yes", for the therapist to read."""
        return [text for key, text in QUESTIONS if getattr(self, key)]

    @property
    def needs_review(self) -> bool:
        """Answered with a "yes", and no therapist has marked it reviewed yet."""
        return not self.pending and bool(self.flagged()) and self.reviewed_at is None
