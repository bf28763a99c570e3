"""A version number for reference data, bumped by the database on every change.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21

The app keeps a snapshot of the clinic's reference data (settings, services, therapists, who
offers what, weekly hours, closures) and reuses it while `catalog_version.version` is
unchanged. Triggers bump the version on every insert, update or delete of those tables, so
the snapshot is exact whichever process or tool made the change.
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TABLES = ("clinic", "service", "therapist", "therapist_service", "working_hours", "closure")


def upgrade():
    op.create_table(
        "catalog_version",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_catalog_version_singleton")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalog_version")),
    )
    op.execute("INSERT INTO catalog_version (id, version) VALUES (1, 0)")
    bump = "UPDATE catalog_version SET version = version + 1 WHERE id = 1"
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION bump_catalog_version() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"BEGIN {bump}; RETURN NULL; END $$"
        )
        for table in TABLES:
            op.execute(
                f"CREATE TRIGGER {table}_bumps_catalog_version "
                f"AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION bump_catalog_version()"
            )
        return
    for table in TABLES:
        for event in ("INSERT", "UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_bumps_catalog_version_{event.lower()} "
                f"AFTER {event} ON {table} BEGIN {bump}; END"
            )


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION bump_catalog_version() CASCADE")
    else:
        for table in TABLES:
            for event in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER {table}_bumps_catalog_version_{event}")
    op.drop_table("catalog_version")
