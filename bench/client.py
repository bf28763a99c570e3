"""A keep-alive HTTP client that times each request, and the statistics of its samples."""

from __future__ import annotations

import json
import math
import socket
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from config import (
    HOST,
)
from cpu import CpuUse

# --------------------------------------------------------------------------- HTTP client


@dataclass
class Sample:
    status: int
    client_ms: float
    server_ms: float | None
    body: bytes
    headers: dict[bytes, bytes] = field(default_factory=dict)


class ServerClosed(ConnectionError):
    """The server closed a keep-alive connection before answering."""


class Client:
    """One keep-alive HTTP/1.1 connection to the server (reopened if the server closes it).

    Written on a bare socket rather than `http.client`: the load generator shares the two
    cores with gunicorn and PostgreSQL, and `http.client`'s header parsing alone cost
    0.1-0.2 ms of CPU per request, time taken from the server being measured. It speaks
    only what gunicorn answers here: a status line, headers and a Content-Length body.
    """

    def __init__(self, port: int, timeout: float = 60.0, cookie: str = "") -> None:
        self.port = port
        self.timeout = timeout
        self.cookie = cookie  # a signed-in staff session, for the workspace's pages
        self.sock: socket.socket | None = None
        self.pending = b""

    def connect(self) -> None:
        self.sock = socket.create_connection((HOST, self.port), timeout=self.timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.pending = b""

    def request(
        self,
        method: str,
        path: str,
        payload: Any = None,
        form: dict[str, str] | Sequence[tuple[str, str]] | None = None,
    ) -> Sample:
        head = f"{method} {path} HTTP/1.1\r\nHost: {HOST}:{self.port}\r\n"
        if self.cookie:
            head += f"Cookie: {self.cookie}\r\n"
        body = b""
        if payload is not None:
            body = json.dumps(payload).encode()
            head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        elif form is not None:
            body = urlencode(form).encode()  # pairs: a field may repeat (checkboxes)
            head += (
                "Content-Type: application/x-www-form-urlencoded\r\n"
                f"Content-Length: {len(body)}\r\n"
            )
        message = head.encode() + b"\r\n" + body
        for attempt in (1, 2):
            if self.sock is None:
                self.connect()
            started = time.perf_counter()
            try:
                self.sock.sendall(message)
                status, headers, data = self._response()
            except (ServerClosed, ConnectionResetError, BrokenPipeError):
                # An idle keep-alive connection the server had closed: only safe to retry
                # a GET, or a POST that never reached the server (closed before sending).
                self.close()
                if attempt == 2 or method != "GET":
                    raise
                continue
            elapsed = (time.perf_counter() - started) * 1000
            if headers.get(b"connection", b"").lower() == b"close":
                self.close()
            timing = _server_ms(headers.get(b"server-timing"))
            return Sample(status, elapsed, timing, data, headers)
        raise AssertionError("unreachable")

    def _response(self) -> tuple[int, dict[bytes, bytes], bytes]:
        while (end := self.pending.find(b"\r\n\r\n")) < 0:
            self._receive()
        lines = self.pending[:end].split(b"\r\n")
        self.pending = self.pending[end + 4 :]
        status = int(lines[0].split(b" ", 2)[1])
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            headers[name.strip().lower()] = value.strip()
        if b"content-length" not in headers:
            raise RuntimeError(f"a response without Content-Length: {lines[0]!r}")
        length = int(headers[b"content-length"])
        while len(self.pending) < length:
            self._receive()
        data, self.pending = self.pending[:length], self.pending[length:]
        return status, headers, data

    def _receive(self) -> None:
        assert self.sock is not None
        chunk = self.sock.recv(262144)
        if not chunk:
            raise ServerClosed("the server closed the connection")
        self.pending += chunk

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
        self.sock = None
        self.pending = b""


def _server_ms(timing: bytes | None) -> float | None:
    for part in (timing or b"").decode().split(";"):
        if part.strip().startswith("dur="):
            return float(part.strip()[4:])
    return None


# --------------------------------------------------------------------------- statistics


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


@dataclass
class Measure:
    name: str
    samples: list[Sample] = field(default_factory=list)
    wall_s: float | None = None  # for concurrent runs: throughput = count / wall
    parts: list[tuple[int, int, float | None]] = field(default_factory=list)
    # (responses, 201s, wall time) of each turn's part
    concurrency: int = 1
    baseline: str = ""  # the bare measure this one is compared with
    cpu: CpuUse | None = None

    def client(self) -> list[float]:
        return [s.client_ms for s in self.samples]

    def server(self) -> list[float]:
        return [s.server_ms for s in self.samples if s.server_ms is not None]

    def stat(self, side: str, q: float) -> float:
        values = self.client() if side == "client" else self.server()
        if not values:
            return float("nan")
        return statistics.median(values) if q == 50 else percentile(values, q)

    def count(self, status: int) -> int:
        return sum(1 for s in self.samples if s.status == status)

    @property
    def throughput(self) -> float | None:
        if not self.wall_s:
            return None
        return len(self.samples) / self.wall_s

    @property
    def created_per_s(self) -> float | None:
        if not self.wall_s:
            return None
        return self.count(201) / self.wall_s
