"""The staff workspace under /staff: sign-in, the clinic's day, schedules and appointments."""

from flask import Blueprint

bp = Blueprint("staff", __name__)

from booking.staff import (  # noqa: E402,F401  (routes attach to `bp`)
    admin,
    appointments,
    auth,
    availability,
    courses,
    days,
    desk,
    dropoff,
    people,
    reports,
)
