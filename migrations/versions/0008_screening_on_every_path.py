"""Screening on every path: consent given verbally, screening pending, reviewed by a therapist.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02

Reception may record the answers read over the phone (consent "verbal") or book with the
screening pending (no answers yet: the patient answers from their private link), so the
answers and consented_at become nullable, guarded by a check that an answered screening has
all of them. Existing rows were all answered online by the patient.
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
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
ANSWERED = " AND ".join(f"{key} IS NOT NULL" for key in QUESTIONS)


def upgrade():
    with op.batch_alter_table("screening") as batch:
        for name in QUESTIONS:
            batch.alter_column(name, existing_type=sa.Boolean(), nullable=True)
        batch.alter_column("consented_at", existing_type=sa.DateTime(timezone=True), nullable=True)
        batch.add_column(sa.Column("consent", sa.String(16), nullable=True))
        batch.add_column(
            sa.Column("recorded_by", sa.String(80), nullable=False, server_default="patient")
        )
        batch.add_column(sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("reviewed_by", sa.String(80), nullable=True))
    op.execute("UPDATE screening SET consent = 'online'")
    with op.batch_alter_table("screening") as batch:
        batch.alter_column("recorded_by", existing_type=sa.String(80), server_default=None)
        batch.create_check_constraint(
            op.f("ck_screening_consent_valid"), "consent IS NULL OR consent IN ('online', 'verbal')"
        )
        batch.create_check_constraint(
            op.f("ck_screening_answered"), f"consent IS NULL OR (consented_at IS NOT NULL AND {ANSWERED})"
        )
        batch.create_check_constraint(
            op.f("ck_screening_reviewed_answered"), "reviewed_at IS NULL OR consent IS NOT NULL"
        )


def downgrade():
    # A pending screening has no answers to keep in the old shape: it goes.
    op.execute("DELETE FROM screening WHERE consent IS NULL")
    with op.batch_alter_table("screening") as batch:
        batch.drop_constraint(op.f("ck_screening_reviewed_answered"), type_="check")
        batch.drop_constraint(op.f("ck_screening_answered"), type_="check")
        batch.drop_constraint(op.f("ck_screening_consent_valid"), type_="check")
        batch.drop_column("reviewed_by")
        batch.drop_column("reviewed_at")
        batch.drop_column("recorded_by")
        batch.drop_column("consent")
        for name in QUESTIONS:
            batch.alter_column(name, existing_type=sa.Boolean(), nullable=False)
        batch.alter_column(
            "consented_at", existing_type=sa.DateTime(timezone=True), nullable=False
        )
