"""Staff accounts: admins, reception and therapists (each therapist account is linked)."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from booking.models.appointment import _in
from booking.models.base import Base, utcnow


class Role(enum.StrEnum):
    ADMIN = "admin"
    RECEPTION = "reception"
    THERAPIST = "therapist"


class StaffUser(Base):
    __tablename__ = "staff_user"
    __table_args__ = (
        CheckConstraint(_in("role", Role), name="role_valid"),
        CheckConstraint(
            "(role = 'therapist') = (therapist_id IS NOT NULL)", name="therapist_linked"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    therapist_id: Mapped[int | None] = mapped_column(
        ForeignKey("therapist.id", ondelete="CASCADE"), unique=True
    )
    active: Mapped[bool] = mapped_column(default=True)
    # Raised on a password change or a forced sign-out: every older session stops working.
    session_version: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]

    # Flask-Login's user interface.
    is_anonymous = False

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.active

    def get_id(self) -> str:
        return f"{self.id}.{self.session_version}"

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    def may_see(self, therapist_id: int) -> bool:
        """Whether this account may see (and edit) that therapist's schedule and hours."""
        return self.role != Role.THERAPIST or self.therapist_id == therapist_id
