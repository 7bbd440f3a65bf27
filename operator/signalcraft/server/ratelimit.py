"""Per-principal token buckets with the IETF RateLimit / RateLimit-Policy headers and 429 + Retry-After."""

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
    """Requests per second each principal may sustain."""
    burst: float = 400.0
    buckets: dict[str, _Bucket] = field(default_factory=dict)

    def check(self, principal: str, request: Request) -> None:
        now = time.monotonic()
        bucket = self.buckets.setdefault(principal, _Bucket(self.burst, now))
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.updated) * self.rate)
        bucket.updated = now
        policy = f'"per-principal";q={int(self.burst)};w={max(1, math.ceil(self.burst / self.rate))}'
        if bucket.tokens < 1:
            wait = math.ceil((1 - bucket.tokens) / self.rate)
            raise Problem(
                429,
                "rate-limited",
                f"too many requests for this service account; retry after {wait}s",
                headers={
                    "Retry-After": str(wait),
                    "RateLimit-Policy": policy,
                    "RateLimit": f'"per-principal";r=0;t={wait}',
                },
            )
        bucket.tokens -= 1
        request.state.rate_limit_headers = {
            "RateLimit-Policy": policy,
            "RateLimit": f'"per-principal";r={int(bucket.tokens)};t=1',
        }
