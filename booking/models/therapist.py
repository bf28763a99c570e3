"""Therapists, the services they offer, their weekly hours and their time off."""

from __future__ import annotations

from datetime import date, datetime, time

from sqlalchemy import CheckConstraint, Column, ForeignKey, Index, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from booking.models.base import Base
from booking.models.service import Service

therapist_service = Table(
    "therapist_service",
    Base.metadata,
    Column("therapist_id", ForeignKey("therapist.id", ondelete="CASCADE"), primary_key=True),
    Column("service_id", ForeignKey("service.id", ondelete="CASCADE"), primary_key=True),
)


class Therapist(Base):
    __tablename__ = "therapist"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    bio: Mapped[str] = mapped_column(Text, default="")
    # Where the therapist's copy of each invite goes; empty: the therapist gets none.
    email: Mapped[str] = mapped_column(String(254), default="")
    active: Mapped[bool] = mapped_column(default=True)
    ims_certified: Mapped[bool] = mapped_column(default=False)
    ims_certification_expires: Mapped[date | None]

    services: Mapped[list[Service]] = relationship(secondary=therapist_service)
    hours: Mapped[list[WorkingHours]] = relationship(
        back_populates="therapist",
        cascade="all, delete-orphan",
        order_by="(WorkingHours.weekday, WorkingHours.start_time)",
    )


class WorkingHours(Base):
    """One recurring weekly interval `[start_time, end_time)` in the clinic's zone."""

    __tablename__ = "working_hours"
    __table_args__ = (
        CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday_range"),
        CheckConstraint("end_time > start_time", name="ends_after_start"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    therapist_id: Mapped[int] = mapped_column(
        ForeignKey("therapist.id", ondelete="CASCADE"), index=True
    )
    weekday: Mapped[int]  # 0 = Monday, as date.weekday()
    start_time: Mapped[time]
    end_time: Mapped[time]

    therapist: Mapped[Therapist] = relationship(back_populates="hours")


class TimeOff(Base):
    """A one-off absence `[start_at, end_at)` of a therapist."""

    __tablename__ = "time_off"
    __table_args__ = (
        CheckConstraint("end_at > start_at", name="ends_after_start"),
        Index("ix_time_off_therapist_id_start_at", "therapist_id", "start_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    therapist_id: Mapped[int] = mapped_column(ForeignKey("therapist.id", ondelete="CASCADE"))
    start_at: Mapped[datetime]
    end_at: Mapped[datetime]
    reason: Mapped[str] = mapped_column(String(200), default="")
