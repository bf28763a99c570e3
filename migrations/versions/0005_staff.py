"""Staff accounts, and the check-in time of an appointment.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-21
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "staff_user",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("therapist_id", sa.Integer(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("session_version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_login_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "role IN ('admin', 'reception', 'therapist')", name=op.f("ck_staff_user_role_valid")
        ),
        sa.CheckConstraint(
            "(role = 'therapist') = (therapist_id IS NOT NULL)",
            name=op.f("ck_staff_user_therapist_linked"),
        ),
        sa.ForeignKeyConstraint(
            ["therapist_id"],
            ["therapist.id"],
            name=op.f("fk_staff_user_therapist_id_therapist"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_user")),
        sa.UniqueConstraint("email", name=op.f("uq_staff_user_email")),
        sa.UniqueConstraint("therapist_id", name=op.f("uq_staff_user_therapist_id")),
    )
    # A plain ADD COLUMN: SQLite keeps the appointment table and its overlap triggers.
    op.add_column("appointment", sa.Column("arrived_at", sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table("appointment", recreate="never") as batch:
        batch.drop_column("arrived_at")
    op.drop_table("staff_user")
