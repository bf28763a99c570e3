"""The clinic model, and the database's guarantee against double booking.

Revision ID: 0001
Revises:
Create Date: 2026-11-21

Two active (not cancelled) appointments of one therapist may not overlap, buffers included,
and one patient may not be in two overlapping active appointments. PostgreSQL enforces this
with exclusion constraints (btree_gist); SQLite with triggers that run inside the writer's
transaction, which SQLite serializes across processes. The triggers compare the fixed-width
text SQLAlchemy stores, so a guard trigger refuses any other text, and any appointment
occupying more than a day, which keeps the index range scan in the overlap triggers exact.
The audit trail is append-only on both.
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "audit_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=80), nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("entity", sa.String(length=40), nullable=False),
        sa.Column("entity_id", sa.Integer(), nullable=False),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_event")),
    )
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.create_index(
            "ix_audit_event_entity_entity_id", ["entity", "entity_id"], unique=False
        )

    op.create_table(
        "clinic",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("address", sa.String(length=300), nullable=False),
        sa.Column("phone", sa.String(length=40), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("slot_step_minutes", sa.Integer(), nullable=False),
        sa.Column("min_notice_minutes", sa.Integer(), nullable=False),
        sa.Column("booking_horizon_days", sa.Integer(), nullable=False),
        sa.Column("cancel_cutoff_minutes", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "booking_horizon_days BETWEEN 1 AND 730", name=op.f("ck_clinic_horizon_range")
        ),
        sa.CheckConstraint(
            "cancel_cutoff_minutes >= 0", name=op.f("ck_clinic_cutoff_non_negative")
        ),
        sa.CheckConstraint("id = 1", name=op.f("ck_clinic_singleton")),
        sa.CheckConstraint(
            "min_notice_minutes >= 0", name=op.f("ck_clinic_min_notice_non_negative")
        ),
        sa.CheckConstraint(
            "slot_step_minutes BETWEEN 5 AND 240", name=op.f("ck_clinic_slot_step_range")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clinic")),
    )
    op.create_table(
        "closure",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.CheckConstraint("ends_on >= starts_on", name=op.f("ck_closure_ends_after_start")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_closure")),
    )
    op.create_table(
        "patient",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("phone", sa.String(length=40), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patient")),
        sa.UniqueConstraint("email", name=op.f("uq_patient_email")),
    )
    op.create_table(
        "service",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=60), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("preparation", sa.Text(), nullable=False),
        sa.Column("duration_minutes", sa.Integer(), nullable=False),
        sa.Column("buffer_minutes", sa.Integer(), nullable=False),
        sa.Column("requires_ims", sa.Boolean(), nullable=False),
        sa.Column("prerequisite_id", sa.Integer(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.CheckConstraint(
            "buffer_minutes BETWEEN 0 AND 120", name=op.f("ck_service_buffer_range")
        ),
        sa.CheckConstraint(
            "duration_minutes BETWEEN 5 AND 480", name=op.f("ck_service_duration_range")
        ),
        sa.CheckConstraint(
            "prerequisite_id IS NULL OR prerequisite_id <> id",
            name=op.f("ck_service_not_own_prerequisite"),
        ),
        sa.ForeignKeyConstraint(
            ["prerequisite_id"], ["service.id"], name=op.f("fk_service_prerequisite_id_service")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service")),
        sa.UniqueConstraint("slug", name=op.f("uq_service_slug")),
    )
    op.create_table(
        "therapist",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("bio", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("ims_certified", sa.Boolean(), nullable=False),
        sa.Column("ims_certification_expires", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_therapist")),
    )
    op.create_table(
        "appointment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=12), nullable=False),
        sa.Column("therapist_id", sa.Integer(), nullable=False),
        sa.Column("service_id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("start_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("occupied_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("calendar_uid", sa.String(length=255), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("manage_token_hash", sa.String(length=64), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("cancel_reason", sa.String(length=500), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "source IN ('online', 'staff')", name=op.f("ck_appointment_source_valid")
        ),
        sa.CheckConstraint(
            "status IN ('booked', 'cancelled', 'completed', 'no_show')",
            name=op.f("ck_appointment_status_valid"),
        ),
        sa.CheckConstraint("end_at > start_at", name=op.f("ck_appointment_ends_after_start")),
        sa.CheckConstraint(
            "occupied_until >= end_at", name=op.f("ck_appointment_buffer_not_negative")
        ),
        sa.CheckConstraint("sequence >= 0", name=op.f("ck_appointment_sequence_non_negative")),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patient.id"], name=op.f("fk_appointment_patient_id_patient")
        ),
        sa.ForeignKeyConstraint(
            ["service_id"], ["service.id"], name=op.f("fk_appointment_service_id_service")
        ),
        sa.ForeignKeyConstraint(
            ["therapist_id"], ["therapist.id"], name=op.f("fk_appointment_therapist_id_therapist")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appointment")),
        sa.UniqueConstraint("calendar_uid", name=op.f("uq_appointment_calendar_uid")),
        sa.UniqueConstraint("manage_token_hash", name=op.f("uq_appointment_manage_token_hash")),
        sa.UniqueConstraint("reference", name=op.f("uq_appointment_reference")),
    )
    with op.batch_alter_table("appointment", schema=None) as batch_op:
        batch_op.create_index(
            "ix_appointment_patient_id_start_at", ["patient_id", "start_at"], unique=False
        )
        batch_op.create_index(
            "ix_appointment_therapist_id_start_at", ["therapist_id", "start_at"], unique=False
        )

    op.create_table(
        "therapist_service",
        sa.Column("therapist_id", sa.Integer(), nullable=False),
        sa.Column("service_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["service_id"],
            ["service.id"],
            name=op.f("fk_therapist_service_service_id_service"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["therapist_id"],
            ["therapist.id"],
            name=op.f("fk_therapist_service_therapist_id_therapist"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("therapist_id", "service_id", name=op.f("pk_therapist_service")),
    )
    op.create_table(
        "time_off",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("therapist_id", sa.Integer(), nullable=False),
        sa.Column("start_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.CheckConstraint("end_at > start_at", name=op.f("ck_time_off_ends_after_start")),
        sa.ForeignKeyConstraint(
            ["therapist_id"],
            ["therapist.id"],
            name=op.f("fk_time_off_therapist_id_therapist"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_time_off")),
    )
    with op.batch_alter_table("time_off", schema=None) as batch_op:
        batch_op.create_index(
            "ix_time_off_therapist_id_start_at", ["therapist_id", "start_at"], unique=False
        )

    op.create_table(
        "working_hours",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("therapist_id", sa.Integer(), nullable=False),
        sa.Column("weekday", sa.Integer(), nullable=False),
        sa.Column("start_time", sa.Time(), nullable=False),
        sa.Column("end_time", sa.Time(), nullable=False),
        sa.CheckConstraint("end_time > start_time", name=op.f("ck_working_hours_ends_after_start")),
        sa.CheckConstraint("weekday BETWEEN 0 AND 6", name=op.f("ck_working_hours_weekday_range")),
        sa.ForeignKeyConstraint(
            ["therapist_id"],
            ["therapist.id"],
            name=op.f("fk_working_hours_therapist_id_therapist"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_working_hours")),
    )
    with op.batch_alter_table("working_hours", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_working_hours_therapist_id"), ["therapist_id"], unique=False
        )

    op.create_table(
        "idempotency_key",
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("appointment_id", sa.Integer(), nullable=False),
        sa.Column("sealed_token", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["appointment_id"],
            ["appointment.id"],
            name=op.f("fk_idempotency_key_appointment_id_appointment"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_idempotency_key")),
    )
    if op.get_bind().dialect.name == "postgresql":
        _postgresql_guarantees()
    else:
        _sqlite_guarantees()


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS audit_event_append_only() CASCADE")
    op.drop_table("idempotency_key")
    with op.batch_alter_table("working_hours", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_working_hours_therapist_id"))

    op.drop_table("working_hours")
    with op.batch_alter_table("time_off", schema=None) as batch_op:
        batch_op.drop_index("ix_time_off_therapist_id_start_at")

    op.drop_table("time_off")
    op.drop_table("therapist_service")
    with op.batch_alter_table("appointment", schema=None) as batch_op:
        batch_op.drop_index("ix_appointment_therapist_id_start_at")
        batch_op.drop_index("ix_appointment_patient_id_start_at")

    op.drop_table("appointment")
    op.drop_table("therapist")
    op.drop_table("service")
    op.drop_table("patient")
    op.drop_table("closure")
    op.drop_table("clinic")
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_event_entity_entity_id")

    op.drop_table("audit_event")


GUARANTEED = ("therapist", "occupied_until"), ("patient", "end_at")
TIME_TEXT = "[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9] [0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9]*"


def _postgresql_guarantees():
    op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    for owner, until in GUARANTEED:
        op.execute(
            f"ALTER TABLE appointment ADD CONSTRAINT appointment_no_{owner}_overlap "
            f"EXCLUDE USING gist ({owner}_id WITH =, tstzrange(start_at, {until}, '[)') WITH &&) "
            "WHERE (status <> 'cancelled')"
        )
    op.execute(
        "ALTER TABLE appointment ADD CONSTRAINT ck_appointment_at_most_a_day "
        "CHECK (occupied_until <= start_at + interval '1 day')"
    )
    op.execute(
        """
        CREATE FUNCTION audit_event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'audit_event is append-only'
                USING ERRCODE = 'restrict_violation', CONSTRAINT = 'audit_event_append_only';
        END $$
        """
    )
    op.execute(
        "CREATE TRIGGER audit_event_append_only BEFORE UPDATE OR DELETE ON audit_event "
        "FOR EACH ROW EXECUTE FUNCTION audit_event_append_only()"
    )


def _sqlite_guarantees():
    columns = "therapist_id, patient_id, start_at, end_at, occupied_until, status"
    for event, when in (("INSERT", "INSERT"), ("UPDATE", f"UPDATE OF {columns}")):
        other = "" if event == "INSERT" else "AND a.id <> NEW.id"
        op.execute(
            f"""
            CREATE TRIGGER appointment_time_valid_{event.lower()} BEFORE {when} ON appointment
            WHEN NEW.start_at NOT GLOB '{TIME_TEXT}' OR NEW.end_at NOT GLOB '{TIME_TEXT}'
              OR NEW.occupied_until NOT GLOB '{TIME_TEXT}'
              OR julianday(NEW.occupied_until) - julianday(NEW.start_at) > 1
            BEGIN SELECT RAISE(ABORT, 'appointment_time_valid'); END
            """
        )
        for owner, until in GUARANTEED:
            op.execute(
                f"""
                CREATE TRIGGER appointment_no_{owner}_overlap_{event.lower()}
                BEFORE {when} ON appointment
                WHEN NEW.status <> 'cancelled' AND EXISTS (
                    SELECT 1 FROM appointment AS a
                    WHERE a.{owner}_id = NEW.{owner}_id AND a.status <> 'cancelled' {other}
                      AND a.start_at >= strftime('%Y-%m-%d %H:%M:%f', NEW.start_at, '-1 day')
                      AND a.start_at < NEW.{until} AND a.{until} > NEW.start_at)
                BEGIN SELECT RAISE(ABORT, 'appointment_no_{owner}_overlap'); END
                """
            )
    for event in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER audit_event_append_only_{event.lower()} BEFORE {event} ON audit_event "
            "BEGIN SELECT RAISE(ABORT, 'audit_event_append_only'); END"
        )
