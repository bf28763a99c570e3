"""The JSON API (`/api/v1`): the patients' API, authorized per booking by a manage token, and
per household by a patient access token (an emailed one-time link's)."""

from flask import Blueprint

bp = Blueprint("api", __name__)

from booking.api import access, views  # noqa: E402,F401  (routes attach to `bp`)
