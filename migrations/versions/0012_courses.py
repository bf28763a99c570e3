"""The course of care: a planned series of visits, spacing between needling visits.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03

- `course`: a person's planned sessions (how many, how often, preferred weekdays and time
  window, an optional end-by date) with one therapist; `appointment.course_id` makes a visit
  one of its sessions.
- Clinic settings: `needling_spacing_days` (two needling visits of one person at least this
  many days apart; 0 off), `reassess_after_sessions` and `reassess_after_weeks` (when the next
  online booking must be a re-assessment; 0 off); `service.reassessment` marks that service.
- Outbox rows about a course, each carried by one of its visits: the booked course's summary,
  "book your next visit" after a session, and reception's "send next times".

`appointment` and `service` gain their columns by ALTER TABLE ADD COLUMN (SQLite keeps their
triggers); `clinic` and `outbox_message` change CHECK constraints, which SQLite can only do by
rebuilding the table, after which the clinic's catalog triggers are made again.
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

UTC_DATETIME = sa.DateTime(timezone=True)
EVENTS = ("booked", "rescheduled", "cancelled", "reminder", "access_link")
COURSE_EVENTS = ("course_booked", "book_next", "next_times")
CLINIC_CHECKS = (
    ("spacing_range", "needling_spacing_days BETWEEN 0 AND 14"),
    ("reassess_sessions_range", "reassess_after_sessions BETWEEN 0 AND 50"),
    ("reassess_weeks_range", "reassess_after_weeks BETWEEN 0 AND 104"),
)


def upgrade():
    sqlite = op.get_bind().dialect.name == "sqlite"
    op.create_table(
        "course",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("therapist_id", sa.Integer(), nullable=False),
        sa.Column("service_id", sa.Integer(), nullable=False),
        sa.Column("sessions", sa.Integer(), nullable=False),
        sa.Column("cadence_days", sa.Integer(), nullable=False),
        sa.Column("weekdays", sa.Integer(), nullable=False),
        sa.Column("window_start", sa.Time(), nullable=True),
        sa.Column("window_end", sa.Time(), nullable=True),
        sa.Column("end_by", sa.Date(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("end_reason", sa.String(length=200), nullable=False),
        sa.Column("created_by", sa.String(length=80), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("ended_at", UTC_DATETIME, nullable=True),
        sa.CheckConstraint("sessions BETWEEN 1 AND 20", name=op.f("ck_course_sessions_range")),
        sa.CheckConstraint(
            "cadence_days BETWEEN 1 AND 60", name=op.f("ck_course_cadence_range")
        ),
        sa.CheckConstraint("weekdays BETWEEN 1 AND 127", name=op.f("ck_course_weekdays_range")),
        sa.CheckConstraint(
            "(window_start IS NULL) = (window_end IS NULL) AND "
            "(window_start IS NULL OR window_end > window_start)",
            name=op.f("ck_course_window_valid"),
        ),
        sa.CheckConstraint(
            "status IN ('active', 'completed', 'ended')", name=op.f("ck_course_status_valid")
        ),
        sa.CheckConstraint(
            "(status = 'active') = (ended_at IS NULL)", name=op.f("ck_course_ended_unless_active")
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patient.id"], name=op.f("fk_course_patient_id_patient")
        ),
        sa.ForeignKeyConstraint(
            ["therapist_id"], ["therapist.id"], name=op.f("fk_course_therapist_id_therapist")
        ),
        sa.ForeignKeyConstraint(
            ["service_id"], ["service.id"], name=op.f("fk_course_service_id_service")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_course")),
    )
    op.create_index("ix_course_patient_id", "course", ["patient_id"])
    op.create_index("ix_course_status_therapist_id", "course", ["status", "therapist_id"])
    if sqlite:  # ADD COLUMN, not a rebuild: the overlap triggers stay
        op.execute(
            "ALTER TABLE appointment ADD COLUMN course_id INTEGER "
            "CONSTRAINT fk_appointment_course_id_course REFERENCES course (id)"
        )
    else:
        op.add_column("appointment", sa.Column("course_id", sa.Integer(), nullable=True))
        op.create_foreign_key(
            op.f("fk_appointment_course_id_course"), "appointment", "course", ["course_id"], ["id"]
        )
    op.create_index("ix_appointment_course_id", "appointment", ["course_id"])
    op.add_column(
        "service",
        sa.Column("reassessment", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    with op.batch_alter_table("clinic") as batch:
        batch.add_column(
            sa.Column("needling_spacing_days", sa.Integer(), nullable=False, server_default="2")
        )
        batch.add_column(
            sa.Column("reassess_after_sessions", sa.Integer(), nullable=False, server_default="10")
        )
        batch.add_column(
            sa.Column("reassess_after_weeks", sa.Integer(), nullable=False, server_default="8")
        )
        for name, check in CLINIC_CHECKS:
            batch.create_check_constraint(op.f(f"ck_clinic_{name}"), check)
    _events(EVENTS + COURSE_EVENTS, sqlite=sqlite)
    _restore_clinic_triggers(sqlite)


def downgrade():
    sqlite = op.get_bind().dialect.name == "sqlite"
    course_rows = sa.table("outbox_message", sa.column("event", sa.String()))
    op.execute(sa.delete(course_rows).where(course_rows.c.event.in_(COURSE_EVENTS)))
    _events(EVENTS, sqlite=sqlite)
    with op.batch_alter_table("clinic") as batch:
        for name, _check in CLINIC_CHECKS:
            batch.drop_constraint(op.f(f"ck_clinic_{name}"), type_="check")
        batch.drop_column("reassess_after_weeks")
        batch.drop_column("reassess_after_sessions")
        batch.drop_column("needling_spacing_days")
    _restore_clinic_triggers(sqlite)
    op.drop_column("service", "reassessment")
    op.drop_index("ix_appointment_course_id", table_name="appointment")
    if sqlite:  # DROP COLUMN, not a rebuild: the overlap triggers stay (SQLite 3.35+)
        # SQLite drops no column a constraint names: the visits' course ids go first.
        op.execute("UPDATE appointment SET course_id = NULL")
    else:
        op.drop_constraint(
            op.f("fk_appointment_course_id_course"), "appointment", type_="foreignkey"
        )
    op.drop_column("appointment", "course_id")
    op.drop_index("ix_course_status_therapist_id", table_name="course")
    op.drop_index("ix_course_patient_id", table_name="course")
    op.drop_table("course")


def _events(events, *, sqlite):
    with op.batch_alter_table("outbox_message", recreate="always" if sqlite else "auto") as batch:
        batch.drop_constraint(op.f("ck_outbox_message_event_valid"), type_="check")
        batch.create_check_constraint(
            op.f("ck_outbox_message_event_valid"),
            f"event IN ({', '.join(repr(e) for e in events)})",
        )


def _restore_clinic_triggers(sqlite):
    """SQLite's batch mode rebuilt `clinic` without its catalog triggers (0002): make them."""
    if not sqlite:
        return
    bump = "UPDATE catalog_version SET version = version + 1 WHERE id = 1"
    for event in ("INSERT", "UPDATE", "DELETE"):
        name = f"clinic_bumps_catalog_version_{event.lower()}"
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute(f"CREATE TRIGGER {name} AFTER {event} ON clinic BEGIN {bump}; END")
