"""Time the test suite of two versions in turns, in one run: old against new, seconds per part.

    .venv/bin/python bench/suite.py OLD_REV [NEW_REV] [--parts tests/api tests/staff ...]

Each revision is checked out into a temporary git worktree (without NEW_REV, "new" is this
checkout as it stands) and its tests run with this checkout's interpreter, as `dev.py test`
runs them (PostgreSQL included when a server answers). The suite is cut into parts (each
directory under tests/, and the files at its top as one part) and the parts run in turns:
old then new for one part, new then old for the next, so a machine that slows down during the
run slows both versions alike. Prints a markdown table (also written to
bench/results/suite.md) of each part's wall-clock seconds, the totals and new / old.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

from compare import checkout
from config import RESULTS, ROOT

LOCAL_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"
TOP_FILES = "tests/test_*.py"
SUMMARY = re.compile(r"^=* ?(\d+ (?:passed|failed|error|skipped).*?) in [\d.]+s")


@dataclass
class Part:
    name: str
    seconds: dict[str, float] = field(default_factory=dict)
    outcome: dict[str, str] = field(default_factory=dict)


def parts_of(tree: Path) -> list[str]:
    """The test directories of `tree`, and its top-level test files as one part."""
    tests = tree / "tests"
    names = sorted(
        f"tests/{path.name}"
        for path in tests.iterdir()
        if path.is_dir() and any(path.glob("test_*.py"))
    )
    return [*names, TOP_FILES]


def run_part(tree: Path, part: str) -> tuple[float, str]:
    """Run one part's tests in `tree`; return the wall-clock seconds and pytest's summary."""
    targets = sorted(str(p.relative_to(tree)) for p in tree.glob(part)) if "*" in part else [part]
    if not targets or not all((tree / target).exists() for target in targets):
        return 0.0, "absent"
    env = dict(os.environ, PYTHONPATH=str(tree))
    env.setdefault("TEST_POSTGRES_URL", LOCAL_POSTGRES)
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *targets],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - started
    lines = [line for line in done.stdout.splitlines() if SUMMARY.match(line)]
    summary = SUMMARY.match(lines[-1]).group(1) if lines else f"exit {done.returncode}"
    return seconds, summary


def table(parts: list[Part], revs: dict[str, str]) -> str:
    rows = [
        f"Test suite, old {revs['old']} against new {revs['new']}, wall-clock seconds per part"
        " (run in turns)",
        "",
        "| part | old s | new s | new / old | old result | new result |",
        "| --- | ---: | ---: | ---: | --- | --- |",
    ]
    for part in parts:
        old, new = part.seconds.get("old", 0.0), part.seconds.get("new", 0.0)
        ratio = f"{new / old:.2f}" if old and new else "-"
        rows.append(
            f"| {part.name} | {old:.1f} | {new:.1f} | {ratio} | {part.outcome.get('old', '-')}"
            f" | {part.outcome.get('new', '-')} |"
        )
    total = {label: sum(p.seconds.get(label, 0.0) for p in parts) for label in ("old", "new")}
    rows.append(
        f"| **all** | **{total['old']:.1f}** | **{total['new']:.1f}** |"
        f" **{total['new'] / total['old']:.2f}** | | |"
    )
    return "\n".join(rows) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old")
    parser.add_argument("new", nargs="?")
    parser.add_argument("--parts", nargs="*", help="parts to run (default: every part)")
    args = parser.parse_args()
    with ExitStack() as stack:
        old_tree, old_rev = checkout(args.old, stack)
        new_tree, new_rev = checkout(args.new, stack) if args.new else (ROOT, "this checkout")
        trees = {"old": old_tree, "new": new_tree}
        for tree in trees.values():  # axe-core for the browser tests, installed once
            modules = tree / "node_modules"
            if tree != ROOT and (ROOT / "node_modules").exists() and not modules.exists():
                modules.symlink_to(ROOT / "node_modules")
        names = args.parts or sorted(set(parts_of(old_tree)) | set(parts_of(new_tree)))
        parts = [Part(name) for name in names]
        for n, part in enumerate(parts):
            order = ("old", "new") if n % 2 == 0 else ("new", "old")
            for label in order:
                seconds, outcome = run_part(trees[label], part.name)
                part.seconds[label], part.outcome[label] = seconds, outcome
                print(f"{part.name:<28} {label}: {seconds:7.1f} s  {outcome}", flush=True)
        report = table(parts, {"old": old_rev, "new": new_rev})
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "suite.md").write_text(report)
    print()
    print(report, end="")


if __name__ == "__main__":
    main()
