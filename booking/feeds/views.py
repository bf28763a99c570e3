"""`GET /calendar/therapists/<id>/<token>.ics`: a therapist's subscription feed."""

from __future__ import annotations

import hashlib

from flask import abort, request
from werkzeug.wrappers import Response

from booking import clock, ratelimit
from booking.feeds import bp
from booking.services import feeds
from booking.services.errors import NotFound


@bp.get("/therapists/<int:therapist_id>/<token>.ics")
@ratelimit.limit("120 per minute", scope="calendar-feed", methods=("GET", "HEAD"))
def therapist(therapist_id: int, token: str) -> Response:
    try:
        body = feeds.feed_calendar(therapist_id, token, now=clock.now())
    except NotFound:
        abort(404)
    response = Response(body, mimetype="text/calendar")
    response.headers["Content-Disposition"] = 'inline; filename="appointments.ics"'
    response.headers["Cache-Control"] = "private, max-age=300"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    # DTSTAMP changes on every fetch; the ETag ignores it so an unchanged feed answers 304.
    stable = b"\n".join(line for line in body.splitlines() if not line.startswith(b"DTSTAMP"))
    response.set_etag(hashlib.sha256(stable).hexdigest()[:32])
    return response.make_conditional(request)
