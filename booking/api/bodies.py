"""The body of an API request, as the views read it."""

from __future__ import annotations

from typing import Any

from flask import request

from booking.services.errors import InvalidRequest


def json_body(*, allow_empty: bool = False) -> dict[str, Any]:
    """Return the JSON object the request carries, or raise `InvalidRequest`."""
    if allow_empty and not request.get_data(cache=True):
        return {}
    try:
        data = request.get_json(silent=True)
    except RecursionError:  # nested deeper than the JSON decoder can follow
        data = None
    if not isinstance(data, dict):
        raise InvalidRequest({"body": "Must be a JSON object (Content-Type: application/json)."})
    return data
