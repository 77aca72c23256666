"""Analytics' CPU capacity: a few computations at once, and an early 503 for the rest.

A computation costs about ``window²`` units of work. The worker threads share one
interpreter lock, so the replica gets through about one computation-second of work
per second however many run at once: k computations side by side each take k times
as long. The replica keeps a running estimate of the seconds one unit takes alone
(each finished computation's wall time divided by how many ran beside it, so a busy
machine counts too) and of the work already admitted. A request that could not end
before its deadline (all the work admitted before it, plus its own, with a margin)
while other work is queued is answered
``503 overloaded`` with ``Retry-After`` at once, instead of queueing, timing out and
leaving work behind; so is any request beyond ``max_waiting`` in the queue.
"""

from __future__ import annotations

import math

import anyio

from tradeplat.errors import Overloaded

#: Weight of the newest computation in the seconds-per-unit estimate.
_EWMA = 0.3
#: Estimates are rough (other processes share the cores): admit only with this much room.
SAFETY = 1.5
#: Below this window a computation's cost is mostly fixed overhead, not ``window²``: such
#: computations do not teach the estimate.
MIN_LEARNING_WINDOW = 200


class ComputeCapacity:
    def __init__(self, slots: int) -> None:
        self.slots = slots
        self.limiter = anyio.CapacityLimiter(slots)
        self.seconds_per_unit: float | None = None
        self.queued_s = 0.0
        self.running = 0

    def estimate_s(self, window: int) -> float:
        """Expected seconds of one computation over ``window`` points run alone (0 before
        any finished)."""
        return (self.seconds_per_unit or 0.0) * window * window

    def admit(self, window: int, left_s: float, max_waiting: int) -> float:
        """Admit a computation that must end within ``left_s``; its estimate, to pass to
        :meth:`done`. ``Overloaded`` (503 + ``Retry-After``) when it cannot make it, or
        when ``max_waiting`` computations already wait for a slot."""
        waiting = self.limiter.statistics().tasks_waiting
        own = self.estimate_s(window)
        ahead = self.queued_s
        retry_after = max(1, math.ceil(ahead))
        if waiting >= max_waiting:
            raise Overloaded(f"{waiting} computations already waiting; retry later",
                             retry_after_s=retry_after)
        # with nothing ahead it always runs: it stops by itself at its deadline
        if self.seconds_per_unit is not None and ahead > 0 and (ahead + own) * SAFETY > left_s:
            raise Overloaded(
                f"this computation (about {own:.1f} s) cannot end within the {left_s:.1f} s "
                f"left: {ahead:.1f} s of work is queued ahead of it", retry_after_s=retry_after)
        self.queued_s += own
        return own

    def started(self) -> int:
        """A computation starts running; how many run now, itself included."""
        self.running += 1
        return self.running

    def done(self, estimate_s: float, window: int, seconds: float | None,
             beside: float = 1.0) -> None:
        """A computation admitted with ``estimate_s`` ended; ``seconds`` is the wall time it
        ran when it ran to its end (None when it stopped early or never ran), ``beside``
        how many computations ran at once meanwhile (itself included), on average."""
        self.queued_s = max(0.0, self.queued_s - estimate_s)
        if seconds is None or window < MIN_LEARNING_WINDOW:
            return
        unit = seconds / max(1.0, beside) / (window * window)
        self.seconds_per_unit = (unit if self.seconds_per_unit is None
                                 else (1 - _EWMA) * self.seconds_per_unit + _EWMA * unit)
