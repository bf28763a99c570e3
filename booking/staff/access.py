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
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from flask import abort, current_app, session
from flask_login import current_user

from booking import clock
from booking.extensions import login_manager
from booking.models import Role, StaffUser
from booking.services import accounts

P = ParamSpec("P")
T = TypeVar("T")
DESK = (Role.ADMIN, Role.RECEPTION)
EVERYONE = (Role.ADMIN, Role.RECEPTION, Role.THERAPIST)
SIGNED_IN_AT = "staff_signed_in_at"


@login_manager.user_loader
def _load(user_id: str) -> StaffUser | None:
    user = accounts.load(user_id)
    if user is None:
        return None
    signed_in = session.get(SIGNED_IN_AT)
    limit = current_app.config["STAFF_SESSION_MAX_HOURS"] * 3600
    if not isinstance(signed_in, int | float) or clock.now().timestamp() - signed_in > limit:
        session.clear()  # signed in too long ago: sign in again
        return None
    return user


def mark_signed_in() -> None:
    session.permanent = True  # ends after PERMANENT_SESSION_LIFETIME without a request
    session[SIGNED_IN_AT] = clock.now().timestamp()


def require(*roles: Role) -> Callable[[Callable[P, T]], Callable[P, T]]:
    """Let through signed-in staff with one of `roles`; others get a sign-in page or a 403."""

    def decorate(view: Callable[P, T]) -> Callable[P, T]:
        @functools.wraps(view)
        def guarded(*args: P.args, **kwargs: P.kwargs) -> T:
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
