"""Response headers that keep browsers strict: no inline script, no framing, no referrers."""

from __future__ import annotations

from flask import Flask, Response, request
from werkzeug.routing import IntegerConverter

# Everything the site loads comes from itself; manage links never leak through a Referer.
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "font-src 'self'",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    )
)
HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    # same-origin: other sites never see a page's address (a manage link); the site itself
    # does, which Flask-WTF's check of an HTTPS form's Referer needs.
    "Referrer-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def secure_headers(response: Response) -> Response:
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    if request.is_secure:
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    return response


def register(app: Flask) -> None:
    app.after_request(secure_headers)


class BoundedInt(IntegerConverter):
    """`<int:…>` in every route, capped at 2**31 - 1: a tampered id is a 404, never an
    overflow in the database driver (SQLite refuses integers past 2**63)."""

    def __init__(self, map, *args, **kwargs) -> None:
        kwargs.setdefault("max", 2**31 - 1)
        super().__init__(map, *args, **kwargs)
