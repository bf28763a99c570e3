#!/usr/bin/env python3
"""The two commands: `python3 dev.py run` serves the demo; `python3 dev.py test` runs every check.

Both create `.venv` and install the project when needed (re-installing only when
pyproject.toml changes), so each is idempotent and works from a fresh clone.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import venv
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / "python"
INSTANCE = ROOT / "instance"
ARTIFACTS = ROOT / "test-artifacts"
LOCAL_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"


def sh(*args: str | Path, env: dict[str, str] | None = None) -> None:
    print("+", " ".join(str(a) for a in args), flush=True)
    subprocess.run([str(a) for a in args], cwd=ROOT, env=env, check=True)


def ensure_environment(extras: str) -> None:
    """Create the virtual environment and install the project into it, once per change."""
    if sys.version_info < (3, 11):  # noqa: UP036  (dev.py runs under any python3)
        sys.exit(f"Python 3.11 or newer is needed; this is {sys.version.split()[0]}.")
    if not PYTHON.exists():
        venv.EnvBuilder(with_pip=True).create(VENV)
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes() + extras.encode()).hexdigest()
    marker = VENV / ".installed"
    if marker.exists() and marker.read_text() == digest:
        return
    sh(PYTHON, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-e", f".{extras}")
    marker.write_text(digest)


def ensure_node_tools(required: bool) -> None:
    """Install axe-core from the npm registry (the browser tests load it into pages)."""
    lock = ROOT / "package-lock.json"
    marker = ROOT / "node_modules" / ".installed"
    digest = hashlib.sha256(lock.read_bytes()).hexdigest()
    if marker.exists() and marker.read_text() == digest:
        return
    npm = shutil.which("npm")
    if npm is None:
        if required:
            sys.exit("npm is needed under CI: the browser tests load axe-core from node_modules.")
        print("npm was not found: the browser tests will be skipped.", flush=True)
        return
    sh(npm, "ci", "--no-audit", "--no-fund", "--loglevel=error")
    marker.write_text(digest)


def flask_env() -> dict[str, str]:
    INSTANCE.mkdir(exist_ok=True)
    key_file = INSTANCE / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(48))
    env = dict(os.environ)
    env.setdefault("SECRET_KEY", key_file.read_text().strip())
    env.setdefault("SESSION_COOKIE_SECURE", "false")  # served over plain http on 127.0.0.1
    env.setdefault("BASE_URL", "http://127.0.0.1:5000")  # for the links in emails
    env["FLASK_APP"] = "wsgi"
    return env


def run() -> None:
    ensure_environment("[test]")
    env = flask_env()
    flask = BIN / "flask"
    sh(flask, "db", "upgrade", env=env)
    sh(flask, "seed-demo", env=env)
    mail = (
        "sent through " + env["MAIL_SERVER"]
        if env.get("MAIL_SERVER")
        else "written to instance/mail/"
    )
    print(
        "\nServing on http://127.0.0.1:5000 (Ctrl-C stops it)."
        f"\nEmails (invites, reminders) are {mail} within seconds.\n",
        flush=True,
    )
    # The delivery worker runs beside the web server, as it would in production.
    worker = subprocess.Popen([str(flask), "outbox", "deliver", "--loop"], cwd=ROOT, env=env)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # stopping us stops the worker too
    try:
        subprocess.run(
            [str(flask), "run", "--host", "127.0.0.1", "--port", "5000"], cwd=ROOT, env=env
        )
    except KeyboardInterrupt:
        pass
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=10)
        except subprocess.TimeoutExpired:
            worker.kill()


def postgres_answers() -> bool:
    try:
        socket.create_connection(("127.0.0.1", 5432), timeout=1).close()
    except OSError:
        return False
    return True


def test(pytest_args: list[str]) -> None:
    ensure_environment("[test]")
    env = dict(os.environ)
    in_ci = env.get("CI", "").lower() == "true"
    if "TEST_POSTGRES_URL" not in env and (in_ci or postgres_answers()):
        env["TEST_POSTGRES_URL"] = LOCAL_POSTGRES
    sh(BIN / "ruff", "check", ".")
    sh(BIN / "ruff", "format", "--check", ".")
    sh(BIN / "lint-imports")  # the import contracts in pyproject.toml ([tool.importlinter])
    sh(BIN / "mypy")  # strict, over booking/ ([tool.mypy])
    ARTIFACTS.mkdir(exist_ok=True)
    junit = ARTIFACTS / "junit.xml"
    ensure_node_tools(required=in_ci)
    try:
        sh(PYTHON, "-m", "pytest", f"--junitxml={junit}", *pytest_args, env=env)
    finally:
        print(f"Browser screenshots: {ARTIFACTS / 'screenshots'}", flush=True)
    if in_ci:
        refuse_skipped_postgres(junit)


def refuse_skipped_postgres(junit: Path) -> None:
    """Fail when any PostgreSQL test was skipped: under CI they must all run."""
    skipped = [
        case.get("name", "?")
        for case in ET.parse(junit).iter("testcase")
        if "postgresql" in case.get("name", "") and case.find("skipped") is not None
    ]
    if skipped:
        sys.exit(f"{len(skipped)} PostgreSQL tests were skipped under CI: {skipped[:5]}")
    print("No PostgreSQL test was skipped.")


def main() -> None:
    command, *rest = sys.argv[1:] or ["help"]
    if command == "run":
        run()
    elif command == "test":
        test(rest)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    try:
        main()
    except subprocess.CalledProcessError as exc:
        sys.exit(exc.returncode)
