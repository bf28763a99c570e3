"""What the browser tests share: Chromium's settings, axe-core, and the per-page checks."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[2]
IN_CI = os.environ.get("CI", "").lower() == "true"
CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
# A browser journey runs once, on SQLite: the databases' differences are tested below it.
sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
PHONE = {
    "viewport": {"width": 360, "height": 740},
    "has_touch": True,
    "is_mobile": True,
    "device_scale_factor": 2,
}
# What every patient-facing control must offer a finger.
TAP_TARGETS = "a.slot, button, .button, .choice-card, label.choice"
MIN_TAP = 44
PAGE_BUDGET = 100 * 1024
BLOCKING = ("serious", "critical")
# Contrast axe cannot decide (text over a gradient, an image or another element) is as
# invisible to a person as contrast it measured too low: neither may pass unseen.
UNDECIDED_BLOCKING = ("color-contrast", "color-contrast-enhanced")


def axe_results(page: Any, axe_source: str) -> dict[str, Any]:
    """Run axe-core in the page and return its violations and incomplete results.

    `page.evaluate` runs through DevTools, which the page's Content-Security-Policy (no
    inline script) does not govern, so axe needs no change to the site's headers.
    """
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(axe_source)
    return page.evaluate(
        "async () => { const r = await axe.run(document);"
        " return {violations: r.violations, incomplete: r.incomplete}; }"
    )


def axe_violations(page: Any, axe_source: str) -> list[dict[str, Any]]:
    """Run axe-core in the page and return its violations."""
    return axe_results(page, axe_source)["violations"]


def blocking_results(results: dict[str, Any]) -> list[dict[str, Any]]:
    """The serious and critical violations, and the undecided contrast as serious or worse."""
    found = [v for v in results["violations"] if serious(v)]
    found += [
        {**r, "id": f"{r['id']} (incomplete)"}
        for r in results["incomplete"]
        if r["id"] in UNDECIDED_BLOCKING and serious(r)
    ]
    return found


def serious(result: dict[str, Any]) -> bool:
    return result.get("impact") in BLOCKING or any(
        node.get("impact") in BLOCKING for node in result["nodes"]
    )


def accessibility_problems(page: Any, axe_source: str) -> str:
    """Return axe's blocking results on the page (see `blocking_results`); "" when none."""
    blocking = blocking_results(axe_results(page, axe_source))
    return "axe violations:\n" + describe(blocking) if blocking else ""


def describe(violations: list[dict[str, Any]]) -> str:
    lines = []
    for v in violations:
        lines.append(f"[{v['impact']}] {v['id']}: {v['help']} ({v['helpUrl']})")
        for node in v["nodes"][:10]:
            summary = node.get("failureSummary") or _undecided(node)
            lines.append(f"    {json.dumps(node['target'])}: {summary}")
    return "\n".join(lines)


def _undecided(node: dict[str, Any]) -> str:
    return "; ".join(check.get("message", "") for check in node.get("any", []))


@dataclass
class Snapshot:
    """A page as the browser received it: audited later in a page of its own."""

    url: str
    status: int
    headers: dict[str, str]
    body: bytes


class Auditor:
    """Audit every HTML page a browser context loads with axe, not only the named steps.

    Each top-level document passes through a route that keeps a copy of the response; a
    tab of a context of its own (`make_context`: the same viewport and settings, with
    JavaScript on for axe) renders each copy and runs axe on it. A route pauses the request
    until the copy is kept, so no page is missed however fast a test moves on, and nothing
    audits the wrong page.
    """

    def __init__(self, context: Any, axe_source: str, make_context: Callable[[], Any]) -> None:
        self.make_context = make_context
        self.axe_source = axe_source
        self.pending: list[Snapshot] = []
        self.audited: list[str] = []
        self.tab: Any = None
        context.route("**/*", self._keep)

    def _keep(self, route: Any) -> None:
        request = route.request
        if request.resource_type != "document" or request.frame.parent_frame is not None:
            route.fallback()
            return
        response = route.fetch(max_redirects=0)
        body = response.body()
        kind = response.headers.get("content-type", "")
        if kind.startswith("text/html") and not 300 <= response.status < 400:
            self.pending.append(Snapshot(request.url, response.status, response.headers, body))
        route.fulfill(response=response, body=body)

    def flush(self) -> str:
        """Audit every page kept since the last flush; return their problems ("" if none)."""
        problems = []
        while self.pending:
            snapshot = self.pending.pop(0)
            found = self._audit(snapshot)
            self.audited.append(snapshot.url)
            if found:
                problems.append(f"{snapshot.url} ({snapshot.status}):\n{found}")
        return "\n".join(problems)

    def close(self) -> None:
        if self.tab is not None:
            self.tab.context.close()

    def _audit(self, snapshot: Snapshot) -> str:
        if self.tab is None:
            self.tab = self.make_context().new_page()

        def serve(route: Any) -> None:
            route.fulfill(status=snapshot.status, headers=snapshot.headers, body=snapshot.body)

        def this(url: str) -> bool:
            return url == snapshot.url

        self.tab.route(this, serve)
        try:
            self.tab.goto(snapshot.url, wait_until="load")
            return accessibility_problems(self.tab, self.axe_source)
        finally:
            self.tab.unroute(this, serve)


def audit_all(page: Any) -> str:
    """Audit every page `page`'s context loaded so far (see `Auditor`); "" when all pass."""
    auditor = AUDITORS.get(id(page.context))
    return auditor.flush() if auditor else ""


AUDITORS: dict[int, Auditor] = {}


@dataclass
class Traffic:
    """The requests and responses of the current page, from its navigation on."""

    origin: str
    responses: list[Any] = field(default_factory=list)
    foreign: list[str] = field(default_factory=list)

    def on_request(self, request: Any) -> None:
        if is_download(request.url):
            return
        if urlsplit(request.url).netloc != urlsplit(self.origin).netloc:
            self.foreign.append(request.url)
        if (
            request.is_navigation_request()
            and request.frame.parent_frame is None
            and request.redirected_from is None
        ):
            self.responses.clear()  # a new page starts (a redirect is still the same one)

    def on_response(self, response: Any) -> None:
        if not is_download(response.url):
            self.responses.append(response)

    def transferred(self) -> tuple[int, list[tuple[str, int]]]:
        """Return the bytes of the current page's responses, and each one's URL and size."""
        sizes = []
        for response in self.responses:
            if 300 <= response.status < 400:
                sizes.append((response.url, 0))  # a redirect has no body to read
            else:
                sizes.append((response.url, body_size(response)))
        return sum(size for _, size in sizes), sizes


def body_size(response: Any) -> int:
    """The response body's bytes; Chromium may already have let go of a body the page read
    (after a reload, say): then the size its network log recorded for it."""
    from playwright.sync_api import Error as PlaywrightError

    try:
        return len(response.body())
    except PlaywrightError:
        return response.request.sizes()["responseBodySize"]


def playwright_api() -> ModuleType:
    """Playwright's sync API for a test module; without the package a skip, under CI a failure."""
    try:
        from playwright import sync_api
    except ImportError:
        if IN_CI:
            raise
        pytest.skip("the playwright package is not installed", allow_module_level=True)
    return sync_api


def is_download(url: str) -> bool:
    return urlsplit(url).path.endswith(".ics")


class Checker:
    """Check each page of a journey: screenshot, axe, no sideways scroll, tap targets, weight."""

    def __init__(self, page: Any, base_url: str, axe_source: str, shot: Callable) -> None:
        self.page = page
        self.axe_source = axe_source
        self.shot = shot
        self.traffic = Traffic(base_url)
        page.on("request", self.traffic.on_request)
        page.on("response", self.traffic.on_response)

    def __call__(self, step: str) -> None:
        page = self.page
        page.wait_for_load_state("load")
        self.shot(page, step)
        problems = [p for p in self.problems() if p]
        assert not problems, f"{step} ({page.url}):\n" + "\n".join(problems)

    def problems(self) -> list[str]:
        return [
            self.accessibility(),
            audit_all(self.page),
            self.sideways(),
            self.small_targets(),
            self.weight(),
        ]

    def accessibility(self) -> str:
        return accessibility_problems(self.page, self.axe_source)

    def sideways(self) -> str:
        widths = self.page.evaluate(
            "() => [document.documentElement.scrollWidth, window.innerWidth]"
        )
        limit = min(widths[1], self.page.viewport_size["width"])
        if widths[0] > limit:
            return f"the page scrolls sideways: {widths[0]} px wide for a {limit} px viewport"
        return ""

    def small_targets(self) -> str:
        small = self.page.evaluate(
            """([selector, minimum]) => [...document.querySelectorAll(selector)]
                .filter((el) => el.getClientRects().length > 0
                    && getComputedStyle(el).visibility !== "hidden")
                .map((el) => [el.outerHTML.slice(0, 120), el.getBoundingClientRect().height])
                .filter(([, height]) => height < minimum)""",
            [TAP_TARGETS, MIN_TAP],
        )
        if small:
            return "tap targets under 44 px:\n" + "\n".join(
                f"    {h:.1f} px: {s}" for s, h in small
            )
        return ""

    def weight(self) -> str:
        found = []
        if self.traffic.foreign:
            found.append(f"requests to another origin: {self.traffic.foreign}")
        total, sizes = self.traffic.transferred()
        if not sizes:
            found.append("no response was recorded for this page")
        if total >= PAGE_BUDGET:
            found.append(f"the page weighs {total} bytes (over {PAGE_BUDGET}): {sizes}")
        return "\n".join(found)
