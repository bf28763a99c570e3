"""The outbox of messages, therapists' email addresses and calendar feeds, reminder lead time.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("therapist") as batch:
        batch.add_column(sa.Column("email", sa.String(254), nullable=False, server_default=""))
    with op.batch_alter_table("clinic") as batch:
        batch.add_column(
            sa.Column("reminder_lead_minutes", sa.Integer(), nullable=False, server_default="1440")
        )
        batch.create_check_constraint("reminder_lead_non_negative", "reminder_lead_minutes >= 0")
    _restore_catalog_triggers()
    op.create_table(
        "outbox_message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("appointment_id", sa.Integer(), nullable=False),
        sa.Column("event", sa.String(16), nullable=False),
        sa.Column("method", sa.String(8), nullable=False),
        sa.Column("recipient", sa.String(16), nullable=False),
        sa.Column("to_name", sa.String(120), nullable=False),
        sa.Column("to_address", sa.String(254), nullable=False),
        sa.Column("therapist_id", sa.Integer(), nullable=False),
        sa.Column("service_id", sa.Integer(), nullable=False),
        sa.Column("start_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("previous_start_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.String(255), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_by", sa.String(64), nullable=True),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("detail", sa.String(500), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "event IN ('booked', 'rescheduled', 'cancelled', 'reminder')",
            name=op.f("ck_outbox_message_event_valid"),
        ),
        sa.CheckConstraint(
            "method IN ('REQUEST', 'CANCEL', '')", name=op.f("ck_outbox_message_method_valid")
        ),
        sa.CheckConstraint(
            "recipient IN ('patient', 'therapist')", name=op.f("ck_outbox_message_recipient_valid")
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'sent', 'failed', 'skipped')",
            name=op.f("ck_outbox_message_status_valid"),
        ),
        sa.CheckConstraint("attempts >= 0", name=op.f("ck_outbox_message_attempts_non_negative")),
        sa.ForeignKeyConstraint(
            ["appointment_id"],
            ["appointment.id"],
            name=op.f("fk_outbox_message_appointment_id_appointment"),
        ),
        sa.ForeignKeyConstraint(
            ["therapist_id"], ["therapist.id"], name=op.f("fk_outbox_message_therapist_id_therapist")
        ),
        sa.ForeignKeyConstraint(
            ["service_id"], ["service.id"], name=op.f("fk_outbox_message_service_id_service")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_message")),
        sa.UniqueConstraint("message_id", name=op.f("uq_outbox_message_message_id")),
    )
    op.create_index("ix_outbox_message_status_due_at", "outbox_message", ["status", "due_at"])
    op.create_index("ix_outbox_message_appointment_id", "outbox_message", ["appointment_id"])
    op.create_table(
        "calendar_feed",
        sa.Column("therapist_id", sa.Integer(), nullable=False),
        sa.Column("secret", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["therapist_id"],
            ["therapist.id"],
            name=op.f("fk_calendar_feed_therapist_id_therapist"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("therapist_id", name=op.f("pk_calendar_feed")),
    )


def downgrade():
    op.drop_table("calendar_feed")
    op.drop_index("ix_outbox_message_appointment_id", table_name="outbox_message")
    op.drop_index("ix_outbox_message_status_due_at", table_name="outbox_message")
    op.drop_table("outbox_message")
    with op.batch_alter_table("clinic") as batch:
        batch.drop_constraint("reminder_lead_non_negative", type_="check")
        batch.drop_column("reminder_lead_minutes")
    _restore_catalog_triggers()
    with op.batch_alter_table("therapist") as batch:
        batch.drop_column("email")


def _restore_catalog_triggers():
    """SQLite's batch mode rebuilds `clinic` as a new table, without migration 0002's triggers."""
    if op.get_bind().dialect.name != "sqlite":
        return
    bump = "UPDATE catalog_version SET version = version + 1 WHERE id = 1"
    for event in ("INSERT", "UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER IF NOT EXISTS clinic_bumps_catalog_version_{event.lower()} "
            f"AFTER {event} ON clinic BEGIN {bump}; END"
        )
