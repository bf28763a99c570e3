"""Absolute links for emails, invites and feeds, built from the configured `BASE_URL`.

A request's Host header is chosen by the client; a link that a patient will trust in an
email must never be built from it.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import current_app


def external_url(endpoint: str, **values: Any) -> str:
    """Return the absolute URL of `endpoint` under `BASE_URL` (outside any request too)."""
    base = urlsplit(current_app.config.get("BASE_URL") or "http://127.0.0.1:5000")
    adapter = current_app.url_map.bind(
        base.netloc, script_name=base.path or "/", url_scheme=base.scheme
    )
    return adapter.build(endpoint, values, force_external=True)


def webcal(url: str) -> str:
    """Return the `webcal://` form of an http(s) feed URL, which calendar apps subscribe to."""
    return "webcal://" + url.split("://", 1)[1]
