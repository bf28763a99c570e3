"""Idempotency records no longer keep a sealed copy of the manage token.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22

Manage tokens are derived from the app secret and the appointment's calendar UID (0004), so a
replayed booking derives its token again; the sealed copy was state that could drift.
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("idempotency_key") as batch:
        batch.drop_column("sealed_token")


def downgrade():
    with op.batch_alter_table("idempotency_key") as batch:
        batch.add_column(
            sa.Column("sealed_token", sa.String(64), nullable=False, server_default="")
        )
