"""The JSON API (`/api/v1`): the patients' API, authorized per booking by a manage token."""

from flask import Blueprint

bp = Blueprint("api", __name__)

from booking.api import views  # noqa: E402,F401  (routes attach to `bp`)
