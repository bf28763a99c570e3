"""Rate limits per client address, on the few views that need one.

A limit reads like "10 per minute; 50 per hour" (every part applies), counted in fixed
windows by the `limits` package, in the store `RATELIMIT_STORAGE_URI` names (`memory://`
counts per process; several app processes share `redis://...` or `memcached://...`). A view
that goes over answers 429 with `Retry-After`.

Limits fail open: when the store fails (Redis stopped or out of reach, any error of it),
requests go through uncounted, with one warning per outage, and the store is asked again
`RECHECK_AFTER` seconds later; counting resumes when it answers.

It is this small on purpose: the app has three limits, each on one view or one shared scope,
and no default limit. Flask-Limiter resolved and evaluated every request's limits twice (in a
`before_request` hook and again in the view's decorator), which cost a tenth of a booking's
CPU time; here one decorator checks one scope.
"""

from __future__ import annotations

import functools
import logging
import math
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from typing import ParamSpec, TypeVar

from flask import Flask, current_app, request
from limits import RateLimitItem, parse_many
from limits.storage import RedisStorage, Storage, storage_from_string
from limits.strategies import FixedWindowRateLimiter
from werkzeug.exceptions import TooManyRequests

P = ParamSpec("P")
R = TypeVar("R")
_KEY = "booking.ratelimit"
log = logging.getLogger(__name__)
# After the store failed, requests are not counted for this long: each would otherwise wait
# for the store again (a stopped Redis refuses at once, an unreachable one times out).
RECHECK_AFTER = 2.0  # seconds
# How long a request waits for Redis before the limit fails open; a `?socket_timeout=` in
# the URI wins.
REDIS_TIMEOUT = 0.5  # seconds


def counts_per_process(storage_uri: str) -> bool:
    """Return whether the store keeps each process's counts apart (`memory://`)."""
    return storage_uri.partition("://")[0] == "memory"


class Limiter:
    """The fixed-window counter, and whether its store is failing (then it fails open)."""

    def __init__(self, storage: Storage, *, per_process: bool) -> None:
        self.window = FixedWindowRateLimiter(storage)
        # The memory store is not safe for threads (gthread workers): two threads could
        # start its expiry timer at once ("threads can only be started once") or count one
        # key from zero twice. Counting under one lock is exact; other stores are atomic.
        self.lock: AbstractContextManager[object] = (
            threading.Lock() if per_process else nullcontext()
        )
        self.failing = False
        self.recheck_at = 0.0
        self._state = threading.Lock()

    def over(self, rule: str, scope: str, client: str) -> int | None:
        """Count one request; return seconds until it may retry if over, else None.

        The parts are counted shortest window first, and counting stops at the first one
        over: requests refused by the minute do not use up the hour. None too while the
        store fails: limits fail open rather than refuse everyone.
        """
        if self.failing and time.monotonic() < self.recheck_at:
            return None
        try:
            with self.lock:
                retry_after = self._count(rule, scope, client)
        except Exception as exc:  # any error of the store, whatever its kind
            self._failed(exc)
            return None
        if self.failing:
            self._answered()
        return retry_after

    def _count(self, rule: str, scope: str, client: str) -> int | None:
        for item in _items(rule):
            if not self.window.hit(item, scope, client):
                reset = self.window.get_window_stats(item, scope, client).reset_time
                return max(1, math.ceil(reset - time.time()))
        return None

    def _failed(self, exc: Exception) -> None:
        with self._state:
            self.recheck_at = time.monotonic() + RECHECK_AFTER
            if self.failing:
                return
            self.failing = True
        log.warning(
            "the rate-limit store failed (%s: %s): limits are not enforced until it answers",
            type(exc).__name__,
            exc,
        )

    def _answered(self) -> None:
        with self._state:
            if not self.failing:
                return
            self.failing = False
        log.info("the rate-limit store answers again: limits are enforced")


def init_app(app: Flask) -> None:
    uri = app.config["RATELIMIT_STORAGE_URI"]
    options = {}
    if uri.partition("://")[0] in RedisStorage.STORAGE_SCHEME:
        options = {"socket_timeout": REDIS_TIMEOUT, "socket_connect_timeout": REDIS_TIMEOUT}
    storage = storage_from_string(uri, **options)
    if not isinstance(storage, Storage):  # async+redis:// and the like are for asyncio apps
        raise RuntimeError("RATELIMIT_STORAGE_URI names an asyncio store: drop its async+")
    app.extensions[_KEY] = Limiter(storage, per_process=counts_per_process(uri))


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
    """Count one request of this client in `scope`; raise 429 if it goes over `rule`."""
    limiter: Limiter = current_app.extensions[_KEY]
    client = request.remote_addr or "unknown"  # behind trusted proxies: see TRUSTED_PROXIES
    retry_after = limiter.over(rule, scope, client)
    if retry_after is not None:
        raise TooManyRequests(retry_after=retry_after)


@functools.lru_cache(maxsize=64)
def _items(rule: str) -> tuple[RateLimitItem, ...]:
    return tuple(sorted(parse_many(rule), key=lambda item: item.get_expiry()))
