"""One error envelope for the API, HTML error pages for the site."""

from __future__ import annotations

import logging
import re
from typing import Any

from flask import Flask, Response, jsonify, make_response, render_template, request
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DBAPIError
from werkzeug.exceptions import HTTPException, InternalServerError, ServiceUnavailable

from booking.database import OutcomeUnknown, Unavailable, connection_lost, summary
from booking.services.errors import (
    AssessmentRequired,
    BookingError,
    IdempotencyKeyReused,
    InsideCutoff,
    InvalidRequest,
    NotChangeable,
    NotFound,
    ReassessmentRequired,
    SlotUnavailable,
    Stale,
    TherapistNotOffering,
    TooSoon,
)

log = logging.getLogger(__name__)
# How long a client is told to wait when the database is out of reach: a restart of
# PostgreSQL takes a few seconds.
RETRY_AFTER_SECONDS = 5

STATUS: dict[type[BookingError], int] = {
    NotFound: 404,
    InvalidRequest: 422,
    TherapistNotOffering: 422,
    IdempotencyKeyReused: 422,
    SlotUnavailable: 409,
    TooSoon: 409,
    AssessmentRequired: 409,
    ReassessmentRequired: 409,
    NotChangeable: 409,
    Stale: 409,
    InsideCutoff: 403,
}


def status_of(error: BookingError) -> int:
    return STATUS.get(type(error), 400)


def error_response(status: int, code: str, message: str, **details: Any) -> Response:
    """Return the API's one error shape: `{"error": {"code", "message", ...}}`."""
    response = jsonify({"error": {"code": code, "message": message, **details}})
    response.status_code = status
    return response


def _wants_json() -> bool:
    return request.path.startswith("/api/")


def _code(exc: HTTPException) -> str:
    return re.sub(r"\W+", "_", (exc.name or "error").lower()).strip("_")


def handle_http(exc: HTTPException) -> Response:
    status = exc.code or 500
    if _wants_json():
        response = error_response(status, _code(exc), exc.description or exc.name)
    else:
        page = "errors/404.html" if status == 404 else "errors/error.html"
        # Werkzeug's stock descriptions talk to developers; only a view's own words are shown.
        message = exc.description if exc.description != type(exc).description else None
        response = make_response(
            render_template(page, status=status, title=exc.name, message=message), status
        )
    # What the exception says about itself: Allow on a 405, Retry-After on a 429.
    for name, value in exc.get_headers():
        if name != "Content-Type":
            response.headers[name] = value
    return response


def handle_csrf(exc: CSRFError) -> Response | tuple[str, int]:
    """Explain a refused form in words a patient understands; nothing was changed."""
    if _wants_json():
        return handle_http(exc)
    message = (
        "This page was open for a long time, or your browser did not keep our cookie, so for "
        "your safety nothing was sent. Please go back, reload the page and try again."
    )
    return render_template(
        "errors/error.html", status=400, title="Please try again", message=message
    ), 400


def handle_unexpected(exc: Exception) -> Response | tuple[str, int]:
    log.exception("unhandled error on %s %s", request.method, request.url_rule)
    return handle_http(InternalServerError())


def handle_database(exc: DBAPIError) -> Response | tuple[str, int]:
    """A lost connection is an outage, answered 503; any other database error is a 500."""
    if connection_lost(exc):
        return handle_unavailable(Unavailable("the database connection was lost"), exc)
    return handle_unexpected(exc)


def handle_unavailable(
    exc: Unavailable, cause: BaseException | None = None
) -> Response | tuple[str, int]:
    """Answer 503 with Retry-After: the database is out of reach, nothing to fix here."""
    log.warning(
        "database unavailable on %s %s: %s",
        request.method,
        request.url_rule,
        summary(cause or exc.__cause__ or exc),
    )
    if isinstance(exc, OutcomeUnknown):
        message = (
            "The connection to our database broke while saving, so it may or may not have "
            "been saved. Send the same request again in a moment: a booking with the same "
            "Idempotency-Key is then returned, not made twice."
            if _wants_json()
            else "The connection to our database broke while saving, so we cannot tell "
            "whether it was saved. Please wait a moment and check before trying again."
        )
    else:
        unchanged = " and nothing was changed" if exc.saved is False else ""
        message = f"Our database is out of reach for a moment{unchanged}. Please try again shortly."
    return handle_http(ServiceUnavailable(message, retry_after=RETRY_AFTER_SECONDS))


def handle_domain(error: BookingError) -> Response | tuple[str, int]:
    """Answer a refusal that no view handled itself, in the page or envelope it expects."""
    status = status_of(error)
    if _wants_json():
        return error_response(status, error.code, error.message, **error.details)
    return render_template(
        "errors/error.html", status=status, title="Sorry", message=error.message
    ), status


def register(app: Flask) -> None:
    app.register_error_handler(CSRFError, handle_csrf)
    app.register_error_handler(BookingError, handle_domain)
    app.register_error_handler(HTTPException, handle_http)
    app.register_error_handler(Unavailable, handle_unavailable)
    app.register_error_handler(DBAPIError, handle_database)
    app.register_error_handler(Exception, handle_unexpected)
