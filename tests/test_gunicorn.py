"""gunicorn.conf.py, through a real gunicorn: the app refuses oversized requests itself, and
several workers do not start on a store that counts rate limits per process."""

from __future__ import annotations

import http.client
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import servers

from booking.security import MAX_HEADER_BYTES, MAX_HEADER_COUNT, MAX_URL_LENGTH


@pytest.fixture(scope="module")
def served(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """One gunicorn for the module, as the README's recipe runs it; its port."""
    folder = tmp_path_factory.mktemp("gunicorn")
    shutil.copyfile(sqlite_template, folder / "booking.sqlite3")
    env = servers.app_environment(DATABASE_URL=f"sqlite:///{folder / 'booking.sqlite3'}")
    web = servers.Gunicorn(folder, env, ["-k", "gthread", "--threads", "2"])
    web.wait_until_serving()
    yield web.port
    web.stop()


def get(port: int, target: str, headers: dict[str, str] | None = None):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.putrequest("GET", target, skip_accept_encoding=True)
        for name, value in (headers or {}).items():
            connection.putheader(name, value)
        connection.endheaders()
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read().decode()
    finally:
        connection.close()


def padded(path: str, length: int) -> str:
    """`path` with a query that makes the whole request target `length` characters."""
    return f"{path}?pad=" + "x" * (length - len(path) - len("?pad="))


API, PAGE = "/api/v1/openapi.json", "/book"


def assert_refused_by_the_app(answer, status: int, code: str, *, api: bool) -> None:
    got, headers, body = answer
    assert got == status, body[:300]
    assert "default-src 'none'" in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff"
    if api:
        assert headers["Content-Type"] == "application/json"
        assert json.loads(body)["error"]["code"] == code
    else:
        assert headers["Content-Type"].startswith("text/html")
        assert "<main" in body  # the site's own page, not the server's


@pytest.mark.parametrize("path", [API, PAGE])
def test_a_5000_character_url_is_refused_by_the_app(served, path):
    answer = get(served, padded(path, 5000))
    assert_refused_by_the_app(answer, 414, "request_uri_too_long", api=path == API)


@pytest.mark.parametrize("path", [API, PAGE])
def test_a_9000_byte_header_is_refused_by_the_app(served, path):
    answer = get(served, path, {"X-Padding": "x" * 9000})
    assert_refused_by_the_app(answer, 431, "request_header_fields_too_large", api=path == API)


def test_too_many_headers_are_refused_by_the_app(served):
    headers = {f"X-Extra-{n}": "1" for n in range(MAX_HEADER_COUNT + 1)}
    answer = get(served, API, headers)
    assert_refused_by_the_app(answer, 431, "request_header_fields_too_large", api=True)


def test_requests_at_the_app_s_limits_are_served(served):
    header = {"X-Padding": "x" * (MAX_HEADER_BYTES - len("X-Padding: "))}
    status, _, body = get(served, padded(API, MAX_URL_LENGTH), header)
    assert status == 200, body[:300]


def test_several_workers_on_the_memory_store_do_not_start(tmp_path):
    env = servers.app_environment(DATABASE_URL=f"sqlite:///{tmp_path / 'unused.sqlite3'}")
    web = servers.Gunicorn(tmp_path, env, ["-w", "3"])
    try:
        code = web.process.wait(timeout=60)
    finally:
        web.stop()
    assert code != 0
    output = web.output()
    assert "RATELIMIT_STORAGE_URI is memory://" in output, output
    assert "Booting worker" not in output  # refused before any worker started


def test_several_workers_start_on_a_shared_store(tmp_path):
    # Nothing need listen there: the store is first asked on the first limited request.
    storage = f"redis://127.0.0.1:{servers.free_port()}/0"
    env = servers.app_environment(
        DATABASE_URL=f"sqlite:///{tmp_path / 'unused.sqlite3'}", RATELIMIT_STORAGE_URI=storage
    )
    web = servers.Gunicorn(tmp_path, env, ["-w", "2"])
    try:
        web.wait_until_serving()
        status, _, _ = get(web.port, API)
    finally:
        web.stop()
    assert status == 200
    assert web.output().count("Booting worker") == 2
