"""Rate limits per client address: every part of a rule applies, scopes count apart."""

from __future__ import annotations

import sys
import threading
import time

import pytest
from flask import Flask

from booking import ratelimit
from booking.extensions import csrf


@pytest.fixture
def limited(app: Flask) -> Flask:
    """Two views of the test app, one sharing the booking changes' scope."""
    app.config["BOOKING_RATE_LIMIT"] = "3 per minute; 2 per hour"
    changes = ratelimit.limit(
        setting="BOOKING_RATE_LIMIT", scope="booking-changes", methods=("GET", "POST")
    )
    app.add_url_rule("/_test/changes", "changes", changes(lambda: "ok"), methods=["GET", "POST"])
    feed = ratelimit.limit("1 per minute", scope="feed-test")(lambda: "ok")
    app.add_url_rule("/_test/feed", "feed", csrf.exempt(feed), methods=["GET", "POST"])
    return app


def test_every_part_of_a_rule_applies_and_the_answer_says_when_to_retry(limited):
    client = limited.test_client()
    assert [client.get("/_test/changes").status_code for _ in range(2)] == [200, 200]

    refused = client.get("/_test/changes")  # the hourly part, though the minute allows 3

    assert refused.status_code == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= 3600
    assert "too many attempts" in refused.text  # the page, in the patient's words


def test_scopes_and_addresses_count_apart_and_other_methods_are_free(limited):
    client = limited.test_client()
    assert client.post("/_test/feed").status_code == 200
    assert client.post("/_test/feed").status_code == 429
    assert client.get("/_test/feed").status_code == 200  # only POST is limited here
    assert client.get("/_test/changes").status_code == 200  # another scope
    other = {"REMOTE_ADDR": "203.0.113.9"}
    assert client.post("/_test/feed", environ_base=other).status_code == 200


def test_the_api_answers_in_its_envelope_with_retry_after(limited):
    client = limited.test_client()
    for _ in range(2):
        client.get("/_test/changes")

    refused = client.post("/api/v1/bookings", json={})  # the API shares the scope

    assert refused.status_code == 429
    assert refused.get_json()["error"]["code"] == "too_many_requests"
    assert int(refused.headers["Retry-After"]) >= 1


def test_requests_refused_by_the_minute_do_not_use_up_the_hour(limited):
    limited.config["BOOKING_RATE_LIMIT"] = "5 per hour; 2 per minute"
    client = limited.test_client()
    statuses = [client.get("/_test/changes").status_code for _ in range(6)]

    assert statuses == [200, 200, 429, 429, 429, 429]
    assert int(client.get("/_test/changes").headers["Retry-After"]) <= 60  # the minute's
    window = limited.extensions["booking.ratelimit"].window
    with limited.test_request_context():
        [hour] = [i for i in ratelimit._items("5 per hour") if i.get_expiry() == 3600]
        assert window.get_window_stats(hour, "booking-changes", "127.0.0.1").remaining == 3


def test_the_calendar_feed_counts_head_requests_too(app, client):
    url = "/calendar/therapists/1/not-a-token.ics"
    statuses = [client.head(url).status_code for _ in range(121)]

    assert statuses[:120] == [404] * 120 and statuses[120] == 429


def test_the_memory_store_counts_exactly_under_threads(app):
    # Threads of one process (gunicorn -k gthread) counting one fresh key at once, switching
    # as often as they can. Unguarded, limits' memory store let several threads count the
    # key from zero, or two start its expiry timer ("threads can only be started once": a
    # 500 in 1 of 13,467 concurrent bookings).
    threads, limit = 8, 3
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        for n in range(40):
            time.sleep(0.02)  # the store's expiry timer has run and ended: it starts anew
            outcomes: list[str] = []
            barrier = threading.Barrier(threads)

            def hit(scope: str = f"round-{n}", outcomes=outcomes, barrier=barrier) -> None:
                with app.test_request_context("/", method="POST"):
                    barrier.wait()
                    try:
                        ratelimit.check(f"{limit} per minute", scope)
                        outcomes.append("counted")
                    except Exception as exc:
                        outcomes.append(type(exc).__name__)

            workers = [threading.Thread(target=hit) for _ in range(threads)]
            for worker in workers:
                worker.start()
            for worker in workers:
                worker.join()
            assert sorted(outcomes) == ["TooManyRequests"] * (threads - limit) + ["counted"] * limit
    finally:
        sys.setswitchinterval(previous)
