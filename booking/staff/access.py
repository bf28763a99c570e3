"""Who may do what in the staff workspace, checked on the server for every request.

|                                   | therapist | reception | admin |
| own schedule, hours, time off     | yes       | yes       | yes   |
| another therapist's of the same   | no (403)  | yes       | yes   |
| book, move, cancel, check in      | no (403)  | yes       | yes   |
| therapists, services, settings,   | no (403)  | no (403)  | yes   |
|   closures, staff accounts        |           |           |       |

Not signed in: a redirect to the sign-in page (a 401 for anything but a page view).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from datetime import timedelta
from typing import ParamSpec, TypeVar

from flask import abort, current_app, session
from flask_login import current_user, login_user, logout_user
from werkzeug.wrappers import Response

from booking import clock
from booking.extensions import login_manager
from booking.models import Role, StaffUser
from booking.services import staff_sessions

log = logging.getLogger(__name__)

P = ParamSpec("P")
T = TypeVar("T")
DESK = (Role.ADMIN, Role.RECEPTION)
EVERYONE = (Role.ADMIN, Role.RECEPTION, Role.THERAPIST)
TOKEN = "staff_session"  # the session cookie's key for its StaffSession token
# What Flask-Login keeps in the session cookie, besides ours.
_SIGNED_IN_KEYS = ("_user_id", "_fresh", "_id", TOKEN)


@login_manager.user_loader
def _load(user_id: str) -> staff_sessions.SignedIn | None:
    token = session.get(TOKEN)
    user = None
    if isinstance(token, str):
        user = staff_sessions.load(token, user_id, now=clock.now(), max_age=_max_age())
    if user is None:
        # Signed out, signed in too long ago, ended by a password change or a switched-off
        # account: this cookie opens nothing, and no longer asks.
        for key in _SIGNED_IN_KEYS:
            session.pop(key, None)
        account = user_id if user_id.isdigit() else "?"
        log.info("a staff session of account %s was refused: ended or expired", account)
    return user


def sign_in(user: StaffUser) -> None:
    """Begin a new session of `user` in this browser, with a token of its own."""
    token = staff_sessions.begin(user.id, now=clock.now(), max_age=_max_age())
    login_user(user)
    session.permanent = True  # ends after PERMANENT_SESSION_LIFETIME without a request
    session[TOKEN] = token


def sign_out() -> None:
    """End this browser's session on the server, so no copy of its cookie opens it again."""
    token = session.pop(TOKEN, None)
    if isinstance(token, str):
        staff_sessions.end(token)
    logout_user()


def _max_age() -> timedelta:
    return timedelta(hours=current_app.config["STAFF_SESSION_MAX_HOURS"])


def require(*roles: Role) -> Callable[[Callable[P, T]], Callable[P, T | Response]]:
    """Let through signed-in staff with one of `roles`; others get a sign-in page or a 403."""

    def decorate(view: Callable[P, T]) -> Callable[P, T | Response]:
        @functools.wraps(view)
        def guarded(*args: P.args, **kwargs: P.kwargs) -> T | Response:
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return guarded

    return decorate


def require_therapist_access(therapist_id: int) -> None:
    """Refuse (403) a therapist looking at a colleague's schedule, hours or visits."""
    if not current_user.may_see(therapist_id):
        abort(403)
