"""gunicorn's settings for this app: `gunicorn -c gunicorn.conf.py wsgi:app`.

Options on the command line (-b, -w, -k, --threads) still apply. This file adds what the
app needs of the server in front of it.
"""

from pathlib import Path

from booking import security
from booking.config import from_environment
from booking.ratelimit import counts_per_process

# The app refuses oversized requests itself (414, 431), with its security headers and, under
# /api, its JSON envelope: gunicorn's own limits stand above the app's, or gunicorn would
# answer first, with a bare HTML page.
limit_request_line = 8190  # gunicorn's largest: method, URL (the app's 4,096) and version
limit_request_field_size = 2 * security.MAX_HEADER_BYTES
limit_request_fields = 2 * security.MAX_HEADER_COUNT


def on_starting(server) -> None:
    """Refuse several workers on `memory://`, where each would count rate limits alone."""
    settings = from_environment(str(Path(__file__).resolve().parent / "instance"))
    storage = settings["RATELIMIT_STORAGE_URI"]
    workers = server.cfg.workers
    if workers > 1 and counts_per_process(storage):
        raise RuntimeError(
            f"{workers} workers were asked for, but RATELIMIT_STORAGE_URI is {storage}, where "
            f"each worker counts rate limits alone (letting up to {workers} times each limit "
            "through). Set RATELIMIT_STORAGE_URI=redis://... (after `pip install redis`), "
            "or run one worker (-w 1, with --threads for concurrency)."
        )
