"""Services (appointment types) such as an IMS initial assessment."""

from __future__ import annotations

from datetime import timedelta
from typing import Protocol

from sqlalchemy import CheckConstraint, ForeignKey, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from booking.models.base import Base


class _ServiceColumns(Protocol):
    @property
    def duration_minutes(self) -> int: ...

    @property
    def buffer_minutes(self) -> int: ...


class ServiceTimes:
    """A service's length and the gap after it: for the model and the catalog's value."""

    __slots__ = ()

    @property
    def duration(self: _ServiceColumns) -> timedelta:
        return timedelta(minutes=self.duration_minutes)

    @property
    def buffer(self: _ServiceColumns) -> timedelta:
        return timedelta(minutes=self.buffer_minutes)

    @property
    def occupies(self: _ServiceColumns) -> timedelta:
        """How long a visit holds its therapist: the visit and the gap after it."""
        return timedelta(minutes=self.duration_minutes + self.buffer_minutes)


class Service(ServiceTimes, Base):
    __tablename__ = "service"
    __table_args__ = (
        CheckConstraint("duration_minutes BETWEEN 5 AND 480", name="duration_range"),
        CheckConstraint("buffer_minutes BETWEEN 0 AND 120", name="buffer_range"),
        CheckConstraint(
            "prerequisite_id IS NULL OR prerequisite_id <> id", name="not_own_prerequisite"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(60), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")
    preparation: Mapped[str] = mapped_column(Text, default="")
    duration_minutes: Mapped[int]
    buffer_minutes: Mapped[int] = mapped_column(default=0)
    requires_ims: Mapped[bool] = mapped_column(default=False)
    prerequisite_id: Mapped[int | None] = mapped_column(ForeignKey("service.id"))
    active: Mapped[bool] = mapped_column(default=True)
    # The clinic's re-assessment: booked online instead of a follow-up once a course runs
    # long or lapses (the clinic's `reassess_*` settings).
    reassessment: Mapped[bool] = mapped_column(default=False, server_default=false())

    prerequisite: Mapped[Service | None] = relationship(remote_side=[id])
