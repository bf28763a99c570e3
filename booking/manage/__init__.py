"""The patient's manage page, opened by the private link in their confirmation."""

from flask import Blueprint

bp = Blueprint("manage", __name__)

from booking.manage import rebooking, views  # noqa: E402,F401  (routes attach to `bp`)
