"""Response headers that keep browsers strict: no inline script, no framing, no referrers."""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, request
from werkzeug.exceptions import RequestHeaderFieldsTooLarge, RequestURITooLarge
from werkzeug.routing import IntegerConverter, Map

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


# The largest request the app reads. gunicorn.conf.py sets gunicorn's own limits above these,
# so that the app refuses a larger request itself, with its headers and, under /api, its
# envelope, instead of gunicorn answering with a bare page.
MAX_URL_LENGTH = 4096  # the request target, path and query, as the client sent it
MAX_HEADER_BYTES = 8190  # one header line, "Name: value" (gunicorn's default limit)
MAX_HEADER_COUNT = 100  # gunicorn's default limit


def refuse_oversized() -> None:
    """Answer 414 for a URL, 431 for headers, larger than the app reads."""
    environ = request.environ
    target = environ.get("RAW_URI") or environ.get("REQUEST_URI") or request.full_path
    if len(target) > MAX_URL_LENGTH:
        raise RequestURITooLarge(f"The address is longer than {MAX_URL_LENGTH} characters.")
    count = 0
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            name = len(key) - 5
        elif key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            name = len(key)
        else:
            continue
        count += 1
        if name + 2 + len(value) > MAX_HEADER_BYTES:
            raise RequestHeaderFieldsTooLarge(
                f"A request header is longer than {MAX_HEADER_BYTES} bytes."
            )
    if count > MAX_HEADER_COUNT:
        raise RequestHeaderFieldsTooLarge(f"The request has more than {MAX_HEADER_COUNT} headers.")


def secure_headers(response: Response) -> Response:
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    if request.is_secure:
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    return response


def register(app: Flask) -> None:
    # First of every before_request hook (CSRF's included): an oversized request is refused
    # as such, whatever else is wrong with it.
    app.before_request_funcs.setdefault(None, []).insert(0, refuse_oversized)
    app.after_request(secure_headers)


class BoundedInt(IntegerConverter):
    """`<int:…>` in every route, capped at 2**31 - 1: a tampered id is a 404, never an
    overflow in the database driver (SQLite refuses integers past 2**63)."""

    def __init__(self, map: Map, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", 2**31 - 1)
        super().__init__(map, *args, **kwargs)
