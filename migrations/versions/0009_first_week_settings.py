"""Clinic settings for the first week's fixes: the change grace period, the locale, the clock.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02

- `change_grace_minutes`: for this long after a booking or a move, the patient may still
  change or cancel online whatever the cut-off (a booking made inside the cut-off was locked
  the moment it was made).
- `locale`: dates and times on pages, emails and invites follow it (Babel); `en_CA` by default.
- `clock_24h`: show times in the 24-hour clock instead of the locale's (9:30 a.m.).
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def _restore_sqlite_triggers():
    """SQLite's batch mode rebuilds `clinic`, which drops its catalog triggers (0002): redo them."""
    if op.get_bind().dialect.name != "sqlite":
        return
    bump = "UPDATE catalog_version SET version = version + 1 WHERE id = 1"
    for event in ("INSERT", "UPDATE", "DELETE"):
        name = f"clinic_bumps_catalog_version_{event.lower()}"
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute(f"CREATE TRIGGER {name} AFTER {event} ON clinic BEGIN {bump}; END")


def upgrade():
    with op.batch_alter_table("clinic") as batch:
        batch.add_column(
            sa.Column("change_grace_minutes", sa.Integer(), nullable=False, server_default="15")
        )
        batch.add_column(
            sa.Column("locale", sa.String(16), nullable=False, server_default="en_CA")
        )
        batch.add_column(
            sa.Column("clock_24h", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.create_check_constraint(
            op.f("ck_clinic_grace_range"), "change_grace_minutes BETWEEN 0 AND 1440"
        )
    _restore_sqlite_triggers()


def downgrade():
    with op.batch_alter_table("clinic") as batch:
        batch.drop_constraint(op.f("ck_clinic_grace_range"), type_="check")
        batch.drop_column("clock_24h")
        batch.drop_column("locale")
        batch.drop_column("change_grace_minutes")
    _restore_sqlite_triggers()
