"""Fixtures for the browser tests: a live server, Chromium through Playwright, axe-core.

The app of `tests/conftest.py` is served over HTTP by werkzeug in a thread; Debian's Chromium
drives it. Under CI=true a missing browser or axe-core fails the run; elsewhere it skips.
"""

from __future__ import annotations

import re
import shutil
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from browser_support import (
    AUDITORS,
    AXE,
    CHROMIUM,
    CHROMIUM_ARGS,
    IN_CI,
    SCREENSHOTS,
    Auditor,
    Checker,
)
from flask import Flask
from werkzeug.serving import WSGIRequestHandler, make_server


def unavailable(reason: str) -> None:
    """Skip a test whose tools are missing, or fail it under CI, where they must be there."""
    if IN_CI:
        pytest.fail(f"{reason} (required under CI=true)", pytrace=False)
    pytest.skip(reason)


class QuietHandler(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


# Werkzeug's test server leaves a static file's handle to the garbage collector when the
# browser drops the connection mid-response (a navigation away): a ResourceWarning about
# the test server, not the app (gunicorn closes it). Only static files' handles are let go.
STATIC_HANDLES = (
    "ignore:unclosed file <_io.BufferedReader name='.*/static/:ResourceWarning",
    "ignore:Exception ignored in. <_io.FileIO name='.*/static/"
    ":pytest.PytestUnraisableExceptionWarning",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "browser" in item.path.parts:
            for rule in STATIC_HANDLES:
                item.add_marker(pytest.mark.filterwarnings(rule))


@pytest.fixture
def therapist(world) -> int:
    """Maya Chen, offering every service every day; made before the server answers anything."""
    return world.make_therapist("Maya Chen")


@pytest.fixture
def live_server(app: Flask, therapist: int) -> Iterator[str]:
    """Serve `app` on a free local port; yield its base URL."""
    app.config["BOOKING_RATE_LIMIT"] = "1000 per minute"
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=QuietHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import Error, sync_playwright
    except ImportError:
        unavailable("the playwright package is not installed")
    if not CHROMIUM.is_file():
        unavailable(f"no Chromium at {CHROMIUM}")
    with sync_playwright() as p:
        try:
            browser = p.chromium.launch(
                executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
            )
        except Error as exc:
            unavailable(f"Chromium at {CHROMIUM} does not start: {exc.message.splitlines()[0]}")
        yield browser
        browser.close()


@pytest.fixture
def new_context(browser, axe_source: str) -> Iterator[Callable[..., Any]]:
    """Return a factory of browser contexts, all closed after the test.

    axe audits every HTML page each context loads (an `Auditor`): the named steps at once,
    the pages in between at the latest when the test ends, which fails on any problem.
    """
    contexts = []

    def make(**options: Any) -> Any:
        # The clinic's own zone and language: pages (and screenshots) read the same anywhere.
        options.setdefault("timezone_id", "America/Vancouver")
        options.setdefault("locale", "en-CA")
        context = browser.new_context(**options)
        context.set_default_timeout(10_000)
        AUDITORS[id(context)] = Auditor(context, axe_source, lambda: audit_context(options))
        contexts.append(context)
        return context

    def audit_context(options: dict[str, Any]) -> Any:
        context = browser.new_context(**(options | {"java_script_enabled": True}))
        context.set_default_timeout(10_000)
        return context

    yield make
    problems = []
    try:
        for context in contexts:
            if found := AUDITORS[id(context)].flush():
                problems.append(found)
    finally:
        for context in contexts:
            AUDITORS.pop(id(context)).close()
            context.close()
    if problems:
        pytest.fail("axe, on pages between the checked steps:\n" + "\n".join(problems))


@pytest.fixture(scope="session")
def axe_source() -> str:
    if not AXE.is_file():
        unavailable(f"axe-core is missing at {AXE}: run `npm ci`")
    return AXE.read_text(encoding="utf-8")


@pytest.fixture
def shots(request: pytest.FixtureRequest) -> Callable[[Any, str], Path]:
    """Return `shot(page, step)`: a full-page screenshot numbered in the test's own folder."""
    folder = SCREENSHOTS / re.sub(r"[^\w.-]+", "-", request.node.name).strip("-")
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    counter = iter(range(1, 100))

    def shot(page: Any, step: str) -> Path:
        path = folder / f"{next(counter):02d}-{step}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return shot


@pytest.fixture
def checker(live_server: str, axe_source: str, shots) -> Callable[[Any], Checker]:
    """Return a factory: `checker(page)` gives a `Checker` for that page's journey."""
    return lambda page: Checker(page, live_server, axe_source, shots)
