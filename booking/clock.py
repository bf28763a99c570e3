"""The current instant, read only at the edges and passed into logic as `now`."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from flask import current_app

from booking.models.base import utcnow


def now() -> datetime:
    """Return the current aware UTC instant (tests may set the `CLOCK` config to a callable).

    Migration 0010 reads `CLOCK` too (when it runs inside the app): rename it there as well.
    """
    clock: Callable[[], datetime] = current_app.config.get("CLOCK", utcnow)
    return clock()
