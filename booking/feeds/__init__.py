"""Calendar feeds that calendar apps subscribe to, each behind its own private URL."""

from flask import Blueprint

bp = Blueprint("feeds", __name__)

from booking.feeds import views  # noqa: E402,F401  (routes attach to `bp`)
