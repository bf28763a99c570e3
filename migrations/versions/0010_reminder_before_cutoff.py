"""The reminder goes out before online changes close, for clinics still on the old default.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02

The reminder lead used to default to the cut-off (24 h against 24 h): the reminder went out
exactly when online changes closed, so its link always landed on the locked page. A clinic
whose reminder lead equals its cut-off gets a lead one day longer (48 h against 24 h), and its
unsent reminders are re-timed to it where the new time is still ahead; any other setting,
chosen on purpose, is kept. Data only: the downgrade leaves the settings as they are.

On SQLite, migration 0009's batch mode rebuilt `clinic` without migration 0002's triggers, so
a settings change no longer refreshed the app's catalog snapshot: they are put back here (0009
now restores them itself, but a database may have been upgraded through it before).
"""

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op
from flask import current_app, has_app_context

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

DAY = 24 * 60
LONGEST_LEAD = 7 * DAY  # what the settings accept

clinic = sa.table(
    "clinic",
    sa.column("id", sa.Integer()),
    sa.column("cancel_cutoff_minutes", sa.Integer()),
    sa.column("reminder_lead_minutes", sa.Integer()),
)
outbox = sa.table(
    "outbox_message",
    sa.column("id", sa.Integer()),
    sa.column("event", sa.String()),
    sa.column("status", sa.String()),
    sa.column("start_at", sa.DateTime(timezone=True)),
    sa.column("due_at", sa.DateTime(timezone=True)),
    sa.column("claimed_until", sa.DateTime(timezone=True)),
)


def upgrade():
    restore_catalog_triggers()
    bind = op.get_bind()
    row = bind.execute(
        sa.select(clinic.c.cancel_cutoff_minutes, clinic.c.reminder_lead_minutes).where(
            clinic.c.id == 1
        )
    ).first()
    if row is None:
        return
    cutoff, lead = row
    if not (0 < cutoff == lead and cutoff + DAY <= LONGEST_LEAD):
        return
    lead = cutoff + DAY
    bind.execute(sa.update(clinic).where(clinic.c.id == 1).values(reminder_lead_minutes=lead))
    now = _now()
    sqlite = bind.dialect.name == "sqlite"
    pending = bind.execute(
        sa.select(outbox.c.id, outbox.c.start_at, outbox.c.claimed_until).where(
            outbox.c.event == "reminder", outbox.c.status == "pending"
        )
    ).all()
    for message_id, start_at, claimed_until in pending:
        start_at = _aware(start_at)
        if claimed_until is not None and _aware(claimed_until) >= now:
            continue  # a worker is sending it right now
        due = start_at - timedelta(minutes=lead)
        if due <= now:
            continue  # too late for the new time: it goes at the old one
        bind.execute(
            sa.update(outbox)
            .where(outbox.c.id == message_id)
            .values(due_at=due.replace(tzinfo=None) if sqlite else due)
        )


def _now() -> datetime:
    """The app's clock (its CLOCK setting, which the tests freeze), else the real one."""
    clock = current_app.config.get("CLOCK") if has_app_context() else None
    return clock() if clock is not None else datetime.now(UTC)


def _aware(value: datetime) -> datetime:
    # SQLite keeps naive UTC text (the models' UTCDateTime); PostgreSQL gives it aware.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def restore_catalog_triggers():
    """Put back migration 0002's triggers on `clinic` where SQLite's batch mode dropped them."""
    if op.get_bind().dialect.name != "sqlite":
        return
    bump = "UPDATE catalog_version SET version = version + 1 WHERE id = 1"
    for event in ("INSERT", "UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER IF NOT EXISTS clinic_bumps_catalog_version_{event.lower()} "
            f"AFTER {event} ON clinic BEGIN {bump}; END"
        )


def downgrade():
    pass
