"""The codebase stays small enough to change: no Python module over 400 lines (issue 14)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MAX_LINES = 400
OURS = ("booking", "tests", "bench", "migrations", "typings")


def test_no_module_is_over_400_lines():
    sizes = {
        str(path.relative_to(ROOT)): len(path.read_text(encoding="utf-8").splitlines())
        for folder in OURS
        for path in (ROOT / folder).rglob("*.py*")
        if path.suffix in (".py", ".pyi")
    }
    assert len(sizes) > 100  # the walk found the code
    long = {name: lines for name, lines in sizes.items() if lines > MAX_LINES}
    assert not long, f"split these modules (over {MAX_LINES} lines): {long}"
