"""One error envelope for the API, HTML error pages for the site."""

from __future__ import annotations

import logging
import re
from typing import Any

from flask import Flask, Response, jsonify, make_response, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from booking.services.errors import (
    AssessmentRequired,
    BookingError,
    IdempotencyKeyReused,
    InsideCutoff,
    InvalidRequest,
    NotChangeable,
    NotFound,
    SlotUnavailable,
    Stale,
    TherapistNotOffering,
)

log = logging.getLogger(__name__)

STATUS: dict[type[BookingError], int] = {
    NotFound: 404,
    InvalidRequest: 422,
    TherapistNotOffering: 422,
    IdempotencyKeyReused: 422,
    SlotUnavailable: 409,
    AssessmentRequired: 409,
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
    app.register_error_handler(Exception, handle_unexpected)
