"""A per-account token bucket (in this replica's memory).

Each risk replica keeps its own buckets, so with N replicas behind a balancer
an account may place up to N × its limit per second; the limit protects the
platform from one runaway client, it is not a billing quota.
"""

from __future__ import annotations

import time
from dataclasses import dataclass


@dataclass
class _Bucket:
    tokens: float
    updated: float


class TokenBuckets:
    def __init__(self, *, max_accounts: int = 100_000) -> None:
        self._buckets: dict[str, _Bucket] = {}
        self._max_accounts = max_accounts

    def take(self, key: str, rate_per_s: float, *, now: float | None = None) -> float:
        """Take one token; return 0 when granted, else the seconds until one is due.

        The bucket holds up to one second's worth of tokens (burst = rate).
        """
        now = time.monotonic() if now is None else now
        capacity = max(1.0, rate_per_s)
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= self._max_accounts:
                self._evict(now)
            bucket = self._buckets[key] = _Bucket(tokens=capacity, updated=now)
        bucket.tokens = min(capacity, bucket.tokens + (now - bucket.updated) * rate_per_s)
        bucket.updated = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return 0.0
        return (1.0 - bucket.tokens) / rate_per_s

    def _evict(self, now: float) -> None:
        # Buckets idle for over a minute are full again: forgetting them is exact.
        stale = [k for k, b in self._buckets.items() if now - b.updated > 60]
        for key in stale or list(self._buckets)[: len(self._buckets) // 2]:
            del self._buckets[key]
