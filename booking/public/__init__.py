"""The patient-facing site."""

from flask import Blueprint

bp = Blueprint("public", __name__)

from booking.public import views, visits  # noqa: E402,F401  (routes attach to `bp`)
