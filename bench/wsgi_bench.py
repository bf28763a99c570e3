"""The real app for the benchmark: `gunicorn --pythonpath bench wsgi_bench:app`.

Environment: DATABASE_URL and SECRET_KEY as for `wsgi.py`; BENCH_NOW (ISO 8601, aware) fixes
the app's clock. Two additions, neither touching the app's own code:

* `GET /_bench/bare` returns `{"ok": true}` without touching the database: the baseline of
  the same app, the same server and the same middleware. `GET /_bench/source` names the
  checkout whose `booking` package is served.
* `ServerTiming` wraps the WSGI app and reports the time spent inside it, as
  `Server-Timing: app;dur=<ms>`: from the moment gunicorn hands the request over, through
  routing, the view, the database, JSON encoding and Flask's teardown (which returns the
  connection to the pool), until the response body is complete. Not included: gunicorn's
  own socket reading, HTTP parsing and writing the response back.
"""

from __future__ import annotations

import gc
import os
import time
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

from flask import jsonify

import booking
from booking import create_app


class ServerTiming:
    """WSGI middleware: run the app to completion, then send its response with a timing."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]):
        started = time.perf_counter()
        captured: list[Any] = []

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None):
            captured[:] = [status, headers, exc_info]
            return lambda data: body.append(data)  # the legacy write() callable

        body: list[bytes] = []
        result = self.app(environ, capture)
        try:
            body.extend(result)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        elapsed_ms = (time.perf_counter() - started) * 1000
        status, headers, exc_info = captured
        headers = [*headers, ("Server-Timing", f"app;dur={elapsed_ms:.3f}")]
        start_response(status, headers, exc_info)
        return body


def _clock() -> Callable[[], datetime] | None:
    raw = os.environ.get("BENCH_NOW")
    if not raw:
        return None
    now = datetime.fromisoformat(raw)
    if now.tzinfo is None:
        raise ValueError("BENCH_NOW must carry a UTC offset")
    return lambda: now


def build() -> Any:
    config: dict[str, Any] = {}
    clock = _clock()
    if clock is not None:
        config["CLOCK"] = clock
    flask_app = create_app(config)

    def bare():
        return jsonify({"ok": True})

    def source():
        # Which checkout's code this server runs: bench/compare.py serves two side by side.
        return jsonify({"root": str(Path(booking.__file__).resolve().parent.parent)})

    flask_app.add_url_rule("/_bench/bare", "bench_bare", bare, methods=["GET"])
    flask_app.add_url_rule("/_bench/source", "bench_source", source, methods=["GET"])
    flask_app.wsgi_app = ServerTiming(flask_app.wsgi_app)
    return flask_app


app = build()
gc.freeze()  # as wsgi.py does: start-up objects stay out of full collections
