"""The load drivers: sequential and concurrent clients over a list of requests."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import Any

from client import Client, Sample

# --------------------------------------------------------------------------- load drivers


def run_sequential(
    port: int, requests: Sequence[tuple[str, str, Any]], budget_s: float, cookie: str = ""
):
    """Send the requests one after another on one connection; stop at the time budget."""
    client = Client(port, cookie=cookie)
    samples: list[Sample] = []
    deadline = time.monotonic() + budget_s
    try:
        for method, path, payload in requests:
            samples.append(client.request(method, path, payload))
            if time.monotonic() > deadline:
                break
    finally:
        client.close()
    return samples


def run_concurrent(
    port: int,
    per_client: Sequence[Sequence[tuple[str, str, Any]]],
    budget_s: float,
    cookie: str = "",
) -> tuple[list[Sample], float]:
    """One thread and connection per list of requests, all released together.

    Returns the samples and the wall time from the release to the last response.
    """
    barrier = threading.Barrier(len(per_client) + 1)
    results: list[list[Sample]] = [[] for _ in per_client]
    errors: list[BaseException] = []
    deadline = [0.0]

    def worker(i: int) -> None:
        client = Client(port, cookie=cookie)
        try:
            client.connect()
            barrier.wait()
            for method, path, payload in per_client[i]:
                results[i].append(client.request(method, path, payload))
                if time.monotonic() > deadline[0]:
                    break
        except BaseException as exc:  # reported by the caller
            errors.append(exc)
            barrier.abort()
        finally:
            client.close()

    threads = [
        threading.Thread(target=worker, args=(i,), daemon=True) for i in range(len(per_client))
    ]
    for thread in threads:
        thread.start()
    deadline[0] = time.monotonic() + budget_s
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join(budget_s + 120)
    wall = time.perf_counter() - started
    if errors:
        raise RuntimeError(f"{len(errors)} client thread(s) failed: {errors[0]!r}") from errors[0]
    return [s for r in results for s in r], wall


def split(requests: Sequence[Any], clients: int) -> list[list[Any]]:
    return [list(requests[i::clients]) for i in range(clients)]
