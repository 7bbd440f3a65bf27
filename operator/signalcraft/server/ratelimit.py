"""Token buckets per principal (REST) or per routing key (Events API), with the IETF RateLimit / RateLimit-Policy
headers on every answer and 429 + Retry-After when a bucket is empty."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

from fastapi import Request

from signalcraft.server.problems import Problem


@dataclass
class _Bucket:
    tokens: float
    updated: float


@dataclass
class RateLimiter:
    rate: float = 200.0
    """Requests per second each key (principal, routing key) may sustain."""
    burst: float = 400.0
    policy: str = "per-principal"
    """The policy's name in the RateLimit headers."""
    buckets: dict[str, _Bucket] = field(default_factory=dict)

    max_buckets: int = 10_000
    """Beyond this many keys, buckets that have refilled are forgotten (a full bucket is the same as none), so
    unauthenticated keys (routing keys) cannot grow memory without bound."""

    def check(self, key: str, request: Request) -> None:
        now = time.monotonic()
        if key not in self.buckets and len(self.buckets) >= self.max_buckets:
            self._forget_full(now)
        bucket = self.buckets.setdefault(key, _Bucket(self.burst, now))
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.updated) * self.rate)
        bucket.updated = now
        policy = f'"{self.policy}";q={int(self.burst)};w={max(1, math.ceil(self.burst / self.rate))}'
        if bucket.tokens < 1:
            wait = math.ceil((1 - bucket.tokens) / self.rate)
            raise Problem(
                429,
                "rate-limited",
                f"too many requests ({self.policy}); retry after {wait}s",
                headers={
                    "Retry-After": str(wait),
                    "RateLimit-Policy": policy,
                    "RateLimit": f'"{self.policy}";r=0;t={wait}',
                },
            )
        bucket.tokens -= 1
        refill = math.ceil((self.burst - bucket.tokens) / self.rate)
        request.state.rate_limit_headers = {
            "RateLimit-Policy": policy,
            "RateLimit": f'"{self.policy}";r={int(bucket.tokens)};t={refill}',
        }

    def _forget_full(self, now: float) -> None:
        refilled = [key for key, b in self.buckets.items() if b.tokens + (now - b.updated) * self.rate >= self.burst]
        for key in refilled:
            del self.buckets[key]
