"""A course of care: a planned series of visits of one person, mostly with one therapist.

IMS care takes about eight to ten spaced sessions. A course holds the plan (how many
sessions, how often, when in the week) and its visits are ordinary appointments that point
back at it (`Appointment.course_id`): each keeps its own invite, reminder and manage link.
"""

from __future__ import annotations

import enum
from datetime import date, datetime, time, timedelta

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from booking.models.base import Base, one_of, utcnow

SESSIONS_MAX = 20
CADENCE_DAYS_MAX = 60
WEEKDAYS_ALL = 0b1111111  # bit d set: weekday d (0 = Monday) is preferred


class CourseStatus(enum.StrEnum):
    ACTIVE = "active"
    COMPLETED = "completed"  # every planned session took place
    ENDED = "ended"  # stopped early by staff, with a reason


class Course(Base):
    __tablename__ = "course"
    __table_args__ = (
        CheckConstraint(f"sessions BETWEEN 1 AND {SESSIONS_MAX}", name="sessions_range"),
        CheckConstraint(f"cadence_days BETWEEN 1 AND {CADENCE_DAYS_MAX}", name="cadence_range"),
        CheckConstraint(f"weekdays BETWEEN 1 AND {WEEKDAYS_ALL}", name="weekdays_range"),
        CheckConstraint(
            "(window_start IS NULL) = (window_end IS NULL) AND "
            "(window_start IS NULL OR window_end > window_start)",
            name="window_valid",
        ),
        CheckConstraint(one_of("status", CourseStatus), name="status_valid"),
        CheckConstraint("(status = 'active') = (ended_at IS NULL)", name="ended_unless_active"),
        Index("ix_course_patient_id", "patient_id"),
        Index("ix_course_status_therapist_id", "status", "therapist_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"))
    therapist_id: Mapped[int] = mapped_column(ForeignKey("therapist.id"))
    service_id: Mapped[int] = mapped_column(ForeignKey("service.id"))  # each session's
    sessions: Mapped[int] = mapped_column(default=8)
    cadence_days: Mapped[int] = mapped_column(default=7)
    weekdays: Mapped[int] = mapped_column(default=WEEKDAYS_ALL)
    window_start: Mapped[time | None]  # clinic-local wall clock, as working hours
    window_end: Mapped[time | None]
    end_by: Mapped[date | None]
    status: Mapped[str] = mapped_column(String(16), default=CourseStatus.ACTIVE.value)
    end_reason: Mapped[str] = mapped_column(String(200), default="")
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None]

    @property
    def cadence(self) -> timedelta:
        return timedelta(days=self.cadence_days)
