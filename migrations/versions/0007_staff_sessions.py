"""Staff sessions on the server: signing out ends the session, not just the cookie.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23

One row per sign-in, holding the SHA-256 of the token in the session cookie. Ending every
session of an account (password change or reset, account switched off) deletes its rows, so
staff_user.session_version, which did that by voiding older cookies, goes. Cookies from
before this revision carry no token: everyone signs in once more after the upgrade (and after
a downgrade).
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "staff_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("staff_user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["staff_user_id"],
            ["staff_user.id"],
            name=op.f("fk_staff_session_staff_user_id_staff_user"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_session")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_staff_session_token_hash")),
    )
    op.create_index(
        op.f("ix_staff_session_staff_user_id"), "staff_session", ["staff_user_id"], unique=False
    )
    # A plain DROP COLUMN (SQLite 3.35+): the table is not rebuilt, so its constraints and
    # the new table's foreign key to it stay as they are.
    with op.batch_alter_table("staff_user", recreate="never") as batch:
        batch.drop_column("session_version")


def downgrade():
    with op.batch_alter_table("staff_user", recreate="never") as batch:
        batch.add_column(
            sa.Column("session_version", sa.Integer(), nullable=False, server_default="0")
        )
    op.drop_index(op.f("ix_staff_session_staff_user_id"), table_name="staff_session")
    op.drop_table("staff_session")
