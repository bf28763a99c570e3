"""The clinic's settings (a single row) and its closures."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import BigInteger, CheckConstraint, String, false
from sqlalchemy.orm import Mapped, mapped_column

from booking.models.base import Base


class _ClinicColumns(Protocol):
    @property
    def timezone(self) -> str: ...

    @property
    def slot_step_minutes(self) -> int: ...

    @property
    def min_notice_minutes(self) -> int: ...

    @property
    def booking_horizon_days(self) -> int: ...

    @property
    def cancel_cutoff_minutes(self) -> int: ...

    @property
    def change_grace_minutes(self) -> int: ...

    @property
    def reminder_lead_minutes(self) -> int: ...

    @property
    def needling_spacing_days(self) -> int: ...


class ClinicPolicy:
    """The clinic's settings as a zone and durations: for the model and the catalog's value."""

    __slots__ = ()

    @property
    def zone(self: _ClinicColumns) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def slot_step(self: _ClinicColumns) -> timedelta:
        return timedelta(minutes=self.slot_step_minutes)

    @property
    def min_notice(self: _ClinicColumns) -> timedelta:
        return timedelta(minutes=self.min_notice_minutes)

    @property
    def booking_horizon(self: _ClinicColumns) -> timedelta:
        return timedelta(days=self.booking_horizon_days)

    @property
    def cancel_cutoff(self: _ClinicColumns) -> timedelta:
        return timedelta(minutes=self.cancel_cutoff_minutes)

    @property
    def change_grace(self: _ClinicColumns) -> timedelta:
        return timedelta(minutes=self.change_grace_minutes)

    @property
    def reminder_lead(self: _ClinicColumns) -> timedelta:
        return timedelta(minutes=self.reminder_lead_minutes)

    @property
    def needling_spacing(self: _ClinicColumns) -> timedelta:
        return timedelta(days=self.needling_spacing_days)


class Clinic(ClinicPolicy, Base):
    """Clinic settings and booking policy; there is exactly one row (id 1)."""

    __tablename__ = "clinic"
    __table_args__ = (
        CheckConstraint("id = 1", name="singleton"),
        CheckConstraint("slot_step_minutes BETWEEN 5 AND 240", name="slot_step_range"),
        CheckConstraint("min_notice_minutes >= 0", name="min_notice_non_negative"),
        CheckConstraint("booking_horizon_days BETWEEN 1 AND 730", name="horizon_range"),
        CheckConstraint("cancel_cutoff_minutes >= 0", name="cutoff_non_negative"),
        CheckConstraint("reminder_lead_minutes >= 0", name="reminder_lead_non_negative"),
        CheckConstraint("change_grace_minutes BETWEEN 0 AND 1440", name="grace_range"),
        CheckConstraint("needling_spacing_days BETWEEN 0 AND 14", name="spacing_range"),
        CheckConstraint("reassess_after_sessions BETWEEN 0 AND 50", name="reassess_sessions_range"),
        CheckConstraint("reassess_after_weeks BETWEEN 0 AND 104", name="reassess_weeks_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False, default=1)
    name: Mapped[str] = mapped_column(String(120))
    address: Mapped[str] = mapped_column(String(300), default="")
    phone: Mapped[str] = mapped_column(String(40), default="")
    email: Mapped[str] = mapped_column(String(254), default="")
    timezone: Mapped[str] = mapped_column(String(64), default="America/Vancouver")
    slot_step_minutes: Mapped[int] = mapped_column(default=15)
    min_notice_minutes: Mapped[int] = mapped_column(default=12 * 60)
    booking_horizon_days: Mapped[int] = mapped_column(default=90)
    cancel_cutoff_minutes: Mapped[int] = mapped_column(default=24 * 60)
    # The reminder email goes this long before the visit; 0 sends none. Longer than the
    # cut-off, so that its link still lets the patient change the visit online.
    reminder_lead_minutes: Mapped[int] = mapped_column(default=48 * 60)
    # A new booking or a move may be changed online this long whatever the cut-off.
    change_grace_minutes: Mapped[int] = mapped_column(default=15, server_default="15")
    # Dates and times follow this locale (Babel); clock_24h overrides its 12-hour clock.
    locale: Mapped[str] = mapped_column(String(16), default="en_CA", server_default="en_CA")
    clock_24h: Mapped[bool] = mapped_column(default=False, server_default=false())
    # Two needling visits of one person at least this many days apart (soreness lasts a day
    # or two); 0 turns the rule off.
    needling_spacing_days: Mapped[int] = mapped_column(default=2, server_default="2")
    # The next online booking is a re-assessment after this many sessions since the last
    # assessment, or after a gap longer than this many weeks; 0 turns either off.
    reassess_after_sessions: Mapped[int] = mapped_column(default=10, server_default="10")
    reassess_after_weeks: Mapped[int] = mapped_column(default=8, server_default="8")


class Closure(Base):
    """Dates (inclusive, in the clinic's zone) when the whole clinic is closed."""

    __tablename__ = "closure"
    __table_args__ = (CheckConstraint("ends_on >= starts_on", name="ends_after_start"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    starts_on: Mapped[date]
    ends_on: Mapped[date]
    reason: Mapped[str] = mapped_column(String(200), default="")


class CatalogVersion(Base):
    """Bumped by database triggers whenever reference data changes (migration 0002)."""

    __tablename__ = "catalog_version"
    __table_args__ = (CheckConstraint("id = 1", name="singleton"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False, default=1)
    version: Mapped[int] = mapped_column(BigInteger, default=0)
