"""Staff accounts (admins, reception, therapists, each linked) and their signed-in sessions."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from booking.models.base import Base, one_of, utcnow


class Role(enum.StrEnum):
    ADMIN = "admin"
    RECEPTION = "reception"
    THERAPIST = "therapist"


class Permissions:
    """What an account may do, by its role: the same for a row and for a signed-in session."""

    role: str
    therapist_id: int | None

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    def may_see(self, therapist_id: int) -> bool:
        """Whether this account may see (and edit) that therapist's schedule and hours."""
        return self.role != Role.THERAPIST or self.therapist_id == therapist_id


class StaffUser(Permissions, Base):
    __tablename__ = "staff_user"
    __table_args__ = (
        CheckConstraint(one_of("role", Role), name="role_valid"),
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
        return str(self.id)  # which sign-in it is, the session's StaffSession token says


class StaffSession(Base):
    """One sign-in of a staff account, alive for as long as this row exists.

    The browser's session cookie holds a random token; this row holds only its SHA-256, so
    the table alone opens no session. Signing out deletes the row: a copy of the cookie
    made before then leads to the sign-in page.
    """

    __tablename__ = "staff_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    staff_user_id: Mapped[int] = mapped_column(
        ForeignKey("staff_user.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime]  # signed in then: the session ends STAFF_SESSION_MAX_HOURS on
