"""A retry budget: retries may add at most a fraction of extra calls over a window.

Per dependency, every first attempt is counted, and a retry is allowed only
while the retries of the last ``window_s`` seconds stay within ``ratio`` of the
first attempts (plus ``min_per_s`` retries a second, so a quiet replica may
still retry its rare failures). When a dependency fails everything, its callers
then add about 10 % load to it instead of doubling it (Finagle's ``RetryBudget``,
gRPC's retry throttling).
"""

from __future__ import annotations

import time
from collections import deque


class RetryBudget:
    def __init__(self, *, ratio: float = 0.1, window_s: float = 10.0,
                 min_per_s: float = 1.0) -> None:
        self.ratio = ratio
        self.window_s = window_s
        self.min_per_s = min_per_s
        self._calls: deque[float] = deque()
        self._retries: deque[float] = deque()

    def _trim(self, now: float) -> None:
        horizon = now - self.window_s
        for events in (self._calls, self._retries):
            while events and events[0] < horizon:
                events.popleft()

    def called(self) -> None:
        """Count a first attempt."""
        now = time.monotonic()
        self._trim(now)
        self._calls.append(now)

    def try_retry(self) -> bool:
        """Take one retry from the budget; False when it is spent."""
        now = time.monotonic()
        self._trim(now)
        allowed = self.ratio * len(self._calls) + self.min_per_s * self.window_s
        if len(self._retries) >= allowed:
            return False
        self._retries.append(now)
        return True
