"""The API's token buckets: burst then 429 with Retry-After and RateLimit headers, refill over time, bounded memory."""

from __future__ import annotations

import time

import pytest
from starlette.requests import Request

from signalcraft.server.problems import Problem
from signalcraft.server.ratelimit import RateLimiter


def request() -> Request:
    return Request({"type": "http", "method": "GET", "path": "/", "headers": []})


def test_burst_then_429_with_retry_after() -> None:
    limiter = RateLimiter(rate=1.0, burst=2.0, policy="per-principal")
    first = request()
    limiter.check("sa_1", first)
    assert first.state.rate_limit_headers == {
        "RateLimit-Policy": '"per-principal";q=2;w=2',
        "RateLimit": '"per-principal";r=1;t=1',
    }
    limiter.check("sa_1", request())
    with pytest.raises(Problem) as refused:
        limiter.check("sa_1", request())
    assert refused.value.status == 429
    assert refused.value.headers["Retry-After"] == "1"
    limiter.check("sa_2", request())  # every key has its own bucket: no 429 here


def test_buckets_refill() -> None:
    limiter = RateLimiter(rate=1000.0, burst=1.0)
    limiter.check("k", request())
    deadline = time.monotonic() + 1
    while time.monotonic() < deadline:
        try:
            limiter.check("k", request())
        except Problem:
            continue
        return
    pytest.fail("the bucket never refilled")


def test_refilled_buckets_are_forgotten_beyond_the_bound() -> None:
    limiter = RateLimiter(rate=1e9, burst=5.0, max_buckets=3)
    for key in ("a", "b", "c", "d", "e"):
        limiter.check(key, request())
    assert len(limiter.buckets) <= 3
    assert "e" in limiter.buckets
