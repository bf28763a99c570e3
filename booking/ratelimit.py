"""Rate limits per client address, on the few views that need one.

A limit reads like "10 per minute; 50 per hour" (every part applies), counted in fixed
windows by the `limits` package, in the store `RATELIMIT_STORAGE_URI` names (`memory://`
counts per process; several app processes share `redis://...` or `memcached://...`). A view
that goes over answers 429 with `Retry-After`.

It is this small on purpose: the app has three limits, each on one view or one shared scope,
and no default limit. Flask-Limiter resolved and evaluated every request's limits twice (in a
`before_request` hook and again in the view's decorator), which cost a tenth of a booking's
CPU time; here one decorator checks one scope.
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from flask import Flask, current_app, request
from limits import RateLimitItem, parse_many
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter
from werkzeug.exceptions import TooManyRequests

P = ParamSpec("P")
R = TypeVar("R")
_KEY = "booking.ratelimit"


def counts_per_process(storage_uri: str) -> bool:
    """Return whether the store keeps each process's counts apart (`memory://`)."""
    return storage_uri.partition("://")[0] == "memory"


def init_app(app: Flask) -> None:
    storage = storage_from_string(app.config["RATELIMIT_STORAGE_URI"])
    app.extensions[_KEY] = FixedWindowRateLimiter(storage)


def limit(
    rule: str | None = None,
    *,
    setting: str | None = None,
    scope: str,
    methods: tuple[str, ...] = ("POST",),
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Limit the view's `methods` to `rule`, or to the rule in the app's config `setting`.

    A setting is read on each request, so a changed config applies at once. Views that name
    the same `scope` share one count.
    """
    if (rule is None) == (setting is None):
        raise TypeError("give a rule or the name of a setting, not both")

    def decorate(view: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(view)
        def limited(*args: P.args, **kwargs: P.kwargs) -> R:
            if request.method in methods:
                check(rule or current_app.config[setting], scope)
            return view(*args, **kwargs)

        return limited

    return decorate


def check(rule: str, scope: str) -> None:
    """Count one request of this client in `scope`; raise 429 if it goes over `rule`.

    The parts are counted shortest window first, and counting stops at the first one over:
    requests refused by the minute do not use up the hour.
    """
    window: FixedWindowRateLimiter = current_app.extensions[_KEY]
    client = request.remote_addr or "unknown"  # behind trusted proxies: see TRUSTED_PROXIES
    for item in _items(rule):
        if not window.hit(item, scope, client):
            reset = window.get_window_stats(item, scope, client).reset_time
            raise TooManyRequests(retry_after=max(1, math.ceil(reset - time.time())))


@functools.lru_cache(maxsize=64)
def _items(rule: str) -> tuple[RateLimitItem, ...]:
    return tuple(sorted(parse_many(rule), key=lambda item: item.get_expiry()))
