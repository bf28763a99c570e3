"""The audit trail's rows, written in the transaction of the change they describe.

Append-only: the database refuses UPDATE and DELETE on `audit_event` (migration 0001). A row
records ids, times and state (`Appointment.snapshot()`), never a patient's details.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from booking.inserts import insert_rows
from booking.models import AuditEvent

Row = dict[str, Any]
_TABLE = AuditEvent.__table__


def row(
    actor: str,
    action: str,
    entity_id: int,
    *,
    now: datetime,
    entity: str = "appointment",
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
) -> Row:
    """One audit row: every column named, so that several rows go in as one INSERT."""
    return {
        "at": now,
        "actor": actor,
        "action": action,
        "entity": entity,
        "entity_id": entity_id,
        "before": None if before is None else dict(before),
        "after": None if after is None else dict(after),
    }


def record(rows: Sequence[Row]) -> None:
    """Write the rows with one multi-row INSERT on the transaction's connection."""
    insert_rows(_TABLE, rows)
