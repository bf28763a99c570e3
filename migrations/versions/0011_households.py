"""Patients are people: a person belongs to a contact (an email), one-time access links.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02

Until now a patient *was* an email address (`patient.email`, unique). Each patient becomes a
person of a contact of their own: the contact gets the address (and its matching key), the
person keeps their id, so every appointment, screening, audit event and outbox row still
points at them. Dates of birth were never asked: they stay empty for the people already on
record. New tables: `patient_change` (details typed online for reception to accept) and
`access_link` (the emailed one-time links); outbox rows may now carry an access link instead
of an appointment.

SQLite cannot drop a unique column or change a column's nullability in place: `patient` and
`outbox_message` are rebuilt. Dropping a table that other tables' foreign keys point at fails
while SQLite enforces foreign keys, and that setting cannot change inside a transaction, so on
SQLite this revision commits what ran before it, rebuilds with foreign keys off, checks every
foreign key (`PRAGMA foreign_key_check`) before its own commit, and turns them back on.
"""

import re
import unicodedata

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

UTC_DATETIME = sa.DateTime(timezone=True)
_DOTLESS = ("gmail.com", "googlemail.com")
# An outbox row about a visit has them all; one about an access link has none.
VISIT_COLUMNS = (
    ("appointment_id", sa.Integer()),
    ("therapist_id", sa.Integer()),
    ("service_id", sa.Integer()),
    ("start_at", UTC_DATETIME),
    ("end_at", UTC_DATETIME),
    ("sequence", sa.Integer()),
)


def upgrade():
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        _foreign_keys(on=False)
    op.create_table(
        "contact",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("email_key", sa.String(length=254), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False, server_default=""),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact")),
        sa.UniqueConstraint("email_key", name=op.f("uq_contact_email_key")),
    )
    with op.batch_alter_table("patient", recreate="always" if sqlite else "auto") as batch:
        batch.add_column(sa.Column("contact_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("name_key", sa.String(length=120), nullable=True))
        batch.add_column(
            sa.Column("preferred_name", sa.String(length=120), nullable=False, server_default="")
        )
        batch.add_column(sa.Column("date_of_birth", sa.Date(), nullable=True))
    _people_into_contacts()
    with op.batch_alter_table("patient", recreate="always" if sqlite else "auto") as batch:
        batch.drop_constraint(op.f("uq_patient_email"), type_="unique")
        batch.drop_column("email")
        batch.alter_column("contact_id", existing_type=sa.Integer(), nullable=False)
        batch.alter_column("name_key", existing_type=sa.String(length=120), nullable=False)
        batch.create_foreign_key(
            op.f("fk_patient_contact_id_contact"), "contact", ["contact_id"], ["id"]
        )
        batch.create_unique_constraint(
            op.f("uq_patient_contact_id_name_key_dob"), ["contact_id", "name_key", "date_of_birth"]
        )
        batch.create_index("ix_patient_contact_id", ["contact_id"], unique=False)
        batch.create_index("ix_patient_name_key", ["name_key"], unique=False)
    op.create_table(
        "patient_change",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("field", sa.String(length=16), nullable=False),
        sa.Column("value", sa.String(length=120), nullable=False),
        sa.Column("appointment_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("proposed_at", UTC_DATETIME, nullable=False),
        sa.Column("decided_at", UTC_DATETIME, nullable=True),
        sa.Column("decided_by", sa.String(length=80), nullable=True),
        sa.CheckConstraint(
            "field IN ('name', 'phone', 'date_of_birth')",
            name=op.f("ck_patient_change_field_valid"),
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'accepted', 'rejected')",
            name=op.f("ck_patient_change_status_valid"),
        ),
        sa.CheckConstraint(
            "(status = 'pending') = (decided_at IS NULL)",
            name=op.f("ck_patient_change_decided_unless_pending"),
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patient.id"], name=op.f("fk_patient_change_patient_id_patient")
        ),
        sa.ForeignKeyConstraint(
            ["appointment_id"],
            ["appointment.id"],
            name=op.f("fk_patient_change_appointment_id_appointment"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patient_change")),
    )
    op.create_index("ix_patient_change_patient_id", "patient_change", ["patient_id"])
    op.create_index("ix_patient_change_status", "patient_change", ["status"])
    op.create_table(
        "access_link",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("nonce", sa.String(length=32), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("expires_at", UTC_DATETIME, nullable=False),
        sa.Column("used_at", UTC_DATETIME, nullable=True),
        sa.CheckConstraint(
            "expires_at > created_at", name=op.f("ck_access_link_expires_after_created")
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contact.id"],
            name=op.f("fk_access_link_contact_id_contact"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_access_link")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_access_link_token_hash")),
    )
    op.create_index(
        "ix_access_link_contact_id_created_at", "access_link", ["contact_id", "created_at"]
    )
    with op.batch_alter_table("outbox_message", recreate="always" if sqlite else "auto") as batch:
        batch.drop_constraint(op.f("ck_outbox_message_event_valid"), type_="check")
        batch.add_column(sa.Column("access_link_id", sa.Integer(), nullable=True))
        for column, kind in VISIT_COLUMNS:
            batch.alter_column(column, existing_type=kind, nullable=True)
        batch.create_foreign_key(
            op.f("fk_outbox_message_access_link_id_access_link"),
            "access_link",
            ["access_link_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch.create_check_constraint(
            op.f("ck_outbox_message_event_valid"),
            "event IN ('booked', 'rescheduled', 'cancelled', 'reminder', 'access_link')",
        )
        batch.create_check_constraint(
            op.f("ck_outbox_message_about_one_thing"),
            "CASE WHEN event = 'access_link' "
            "THEN access_link_id IS NOT NULL AND appointment_id IS NULL "
            "ELSE access_link_id IS NULL AND appointment_id IS NOT NULL "
            "AND therapist_id IS NOT NULL AND service_id IS NOT NULL "
            "AND start_at IS NOT NULL AND end_at IS NOT NULL AND sequence IS NOT NULL END",
        )
    if sqlite:
        _foreign_keys(on=True)


def downgrade():
    """Back to one patient per email: only possible while no contact holds two people."""
    bind = op.get_bind()
    sqlite = bind.dialect.name == "sqlite"
    shared = bind.execute(
        sa.text("SELECT contact_id FROM patient GROUP BY contact_id HAVING COUNT(*) > 1")
    ).first()
    if shared is not None:
        raise RuntimeError(
            "A contact holds several people: the old schema has one patient per email."
        )
    if sqlite:
        _foreign_keys(on=False)
    op.execute("DELETE FROM outbox_message WHERE event = 'access_link'")
    with op.batch_alter_table("outbox_message", recreate="always" if sqlite else "auto") as batch:
        batch.drop_constraint(op.f("ck_outbox_message_about_one_thing"), type_="check")
        batch.drop_constraint(op.f("ck_outbox_message_event_valid"), type_="check")
        batch.drop_constraint(
            op.f("fk_outbox_message_access_link_id_access_link"), type_="foreignkey"
        )
        batch.drop_column("access_link_id")
        for column, kind in VISIT_COLUMNS:
            batch.alter_column(column, existing_type=kind, nullable=False)
        batch.create_check_constraint(
            op.f("ck_outbox_message_event_valid"),
            "event IN ('booked', 'rescheduled', 'cancelled', 'reminder')",
        )
    op.drop_index("ix_access_link_contact_id_created_at", table_name="access_link")
    op.drop_table("access_link")
    op.drop_index("ix_patient_change_status", table_name="patient_change")
    op.drop_index("ix_patient_change_patient_id", table_name="patient_change")
    op.drop_table("patient_change")
    with op.batch_alter_table("patient", recreate="always" if sqlite else "auto") as batch:
        batch.add_column(sa.Column("email", sa.String(length=254), nullable=True))
    op.execute("UPDATE patient SET email = (SELECT c.email FROM contact c WHERE c.id = contact_id)")
    with op.batch_alter_table("patient", recreate="always" if sqlite else "auto") as batch:
        batch.drop_index("ix_patient_name_key")
        batch.drop_index("ix_patient_contact_id")
        batch.drop_constraint(op.f("uq_patient_contact_id_name_key_dob"), type_="unique")
        batch.drop_constraint(op.f("fk_patient_contact_id_contact"), type_="foreignkey")
        batch.drop_column("date_of_birth")
        batch.drop_column("preferred_name")
        batch.drop_column("name_key")
        batch.drop_column("contact_id")
        batch.alter_column("email", existing_type=sa.String(length=254), nullable=False)
        batch.create_unique_constraint(op.f("uq_patient_email"), ["email"])
    op.drop_table("contact")
    if sqlite:
        _foreign_keys(on=True)


patient = sa.table(
    "patient",
    sa.column("id", sa.Integer()),
    sa.column("email", sa.String()),
    sa.column("name", sa.String()),
    sa.column("created_at", UTC_DATETIME),
    sa.column("contact_id", sa.Integer()),
    sa.column("name_key", sa.String()),
)
contact = sa.table(
    "contact",
    sa.column("id", sa.Integer()),
    sa.column("email", sa.String()),
    sa.column("email_key", sa.String()),
    sa.column("name", sa.String()),
    sa.column("created_at", UTC_DATETIME),
)


def _people_into_contacts() -> None:
    """Each patient becomes a person of a contact holding their address (ids kept)."""
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(patient.c.id, patient.c.email, patient.c.name, patient.c.created_at).order_by(
            patient.c.id
        )
    ).all()
    contacts: dict[str, int] = {}
    for row in rows:
        key = _email_key(row.email)
        if key not in contacts:  # the addresses were unique; Gmail's dots may fold two
            contacts[key] = row.id
            bind.execute(
                contact.insert().values(
                    id=row.id, email=row.email, email_key=key, name="", created_at=row.created_at
                )
            )
        bind.execute(
            patient.update()
            .where(patient.c.id == row.id)
            .values(contact_id=contacts[key], name_key=_name_key(row.name))
        )
    if rows and bind.dialect.name == "postgresql":  # ids were given: move the sequence on
        bind.exec_driver_sql(
            "SELECT setval(pg_get_serial_sequence('contact', 'id'), (SELECT MAX(id) FROM contact))"
        )


# As booking.models.patient had them at this revision; a migration never imports the app.
def _email_key(email: str) -> str:
    address = email.strip().lower()
    local, at, domain = address.rpartition("@")
    if at and domain in _DOTLESS:
        return f"{local.replace('.', '')}@gmail.com"
    return address


def _name_key(name: str) -> str:
    folded = unicodedata.normalize("NFKD", name).casefold()
    letters = "".join(c for c in folded if not unicodedata.combining(c))
    return re.sub(r"\s+", " ", letters).strip()


def _foreign_keys(*, on: bool) -> None:
    """SQLite only: end the transaction, switch foreign keys, begin again (see above)."""
    bind = op.get_bind()
    if on:
        broken = bind.exec_driver_sql("PRAGMA foreign_key_check").first()
        if broken is not None:
            raise RuntimeError(f"migration 0011 broke a foreign key of table {broken[0]}")
    bind.exec_driver_sql("COMMIT")
    bind.exec_driver_sql(f"PRAGMA foreign_keys = {'ON' if on else 'OFF'}")
    bind.exec_driver_sql("BEGIN")
