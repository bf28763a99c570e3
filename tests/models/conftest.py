"""A fixture that writes appointments with raw SQL."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from rawsql import T9, raw_connection, stamp
from support import person


@pytest.fixture
def raw_insert(database_url, world) -> Callable[..., None]:
    therapist = world.make_therapist()
    other_therapist = world.make_therapist("Daniel Okafor")
    world.add(person("A", "a@example.com"), person("B", "b@example.com"))
    counter = iter(range(1, 10_000))

    def insert(
        start,
        minutes=60,
        buffer=10,
        *,
        therapist_id=therapist,
        patient_id=1,
        status="booked",
        start_text=None,
    ):
        n = next(counter)
        end, until = start + timedelta(minutes=minutes), start + timedelta(minutes=minutes + buffer)
        marker = "?" if database_url.startswith("sqlite") else "%s"
        sql = (
            "INSERT INTO appointment (reference, therapist_id, service_id, patient_id, start_at,"
            " end_at, occupied_until, status, source, calendar_uid, sequence, manage_token_hash,"
            " notes, cancel_reason, created_at, updated_at) VALUES "
            f"({', '.join([marker] * 16)})"
        )
        params = (
            f"REF-{n:04d}",
            therapist_id,
            1,
            patient_id,
            start_text or stamp(database_url, start),
            stamp(database_url, end),
            stamp(database_url, until),
            status,
            "staff",
            f"uid-{n}@test",
            0,
            f"hash-{n}",
            "",
            "",
            stamp(database_url, T9),
            stamp(database_url, T9),
        )
        with raw_connection(database_url) as conn:
            conn.execute(sql, params)

    insert.therapist = therapist
    insert.other_therapist = other_therapist
    return insert
