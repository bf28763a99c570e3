"""The IMS safety screening answers and consent stored with an appointment.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

QUESTIONS = (
    "blood_thinners",
    "pregnant",
    "implant",
    "needle_phobia",
    "skin_problem",
    "lymphoedema",
    "immunocompromised",
    "metal_allergy",
)


def upgrade():
    op.create_table(
        "screening",
        sa.Column("appointment_id", sa.Integer(), nullable=False),
        *(sa.Column(name, sa.Boolean(), nullable=False) for name in QUESTIONS),
        sa.Column("consented_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["appointment_id"],
            ["appointment.id"],
            name=op.f("fk_screening_appointment_id_appointment"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("appointment_id", name=op.f("pk_screening")),
    )


def downgrade():
    op.drop_table("screening")
