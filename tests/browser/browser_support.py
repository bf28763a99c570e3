"""What the browser tests share: Chromium's settings, axe-core, and the per-page checks."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

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


def axe_violations(page: Any, axe_source: str) -> list[dict[str, Any]]:
    """Run axe-core in the page and return its violations.

    `page.evaluate` runs through DevTools, which the page's Content-Security-Policy (no
    inline script) does not govern, so axe needs no change to the site's headers.
    """
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(axe_source)
    return page.evaluate("async () => (await axe.run(document)).violations")


def accessibility_problems(page: Any, axe_source: str) -> str:
    """Return axe's serious and critical violations on the page, described; "" when none."""
    blocking = [v for v in axe_violations(page, axe_source) if v["impact"] in BLOCKING]
    return "axe violations:\n" + describe(blocking) if blocking else ""


def describe(violations: list[dict[str, Any]]) -> str:
    lines = []
    for v in violations:
        lines.append(f"[{v['impact']}] {v['id']}: {v['help']} ({v['helpUrl']})")
        for node in v["nodes"][:10]:
            lines.append(f"    {json.dumps(node['target'])}: {node['failureSummary'] or ''}")
    return "\n".join(lines)


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
                sizes.append((response.url, len(response.body())))
        return sum(size for _, size in sizes), sizes


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
        return [self.accessibility(), self.sideways(), self.small_targets(), self.weight()]

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
