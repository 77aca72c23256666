"""The caller's deadline, carried across services as a remaining budget.

Every internal call carries ``X-Request-Timeout-Ms``: the milliseconds the
caller will still wait for the answer, written when the request goes on the
wire (after any wait for a pooled connection), so no clock is compared across
hosts. The receiving replica starts its own clock on arrival and keeps a small
margin for the answer's way back: its work must end ``margin_s`` before the
caller gives up. Everything that waits (a pooled database connection, the
account lock, a call to another service) is bounded by what is left
(:func:`bound`), and running out is ``DeadlineExceeded`` (503): nothing is
committed after it. A request without the header (e.g. a public client of the
gateway) has only the service's own limits.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar

from tradeplat.errors import DeadlineExceeded, InvalidInput

HEADER = "X-Request-Timeout-Ms"
#: Largest budget accepted (one day): beyond it the value is a mistake, not a deadline.
MAX_MS = 86_400_000

_deadline: ContextVar[float | None] = ContextVar("tradeplat_deadline", default=None)


def margin_s(budget_s: float) -> float:
    """Time kept back for the answer to reach the caller: 10 %, at most 100 ms."""
    return min(0.1, budget_s / 10)


def parse(value: str) -> float:
    """The budget of a header value, in seconds; ``InvalidInput`` naming the header."""
    text = value.strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 9 or int(text) > MAX_MS:
        raise InvalidInput(
            f"{HEADER} must be a whole number of milliseconds (0..{MAX_MS})", field=HEADER
        )
    return int(text) / 1000


def start(budget_s: float) -> object:
    """Set the current request's deadline from its budget; returns a reset token."""
    return _deadline.set(time.monotonic() + budget_s - margin_s(budget_s))


def reset(token: object) -> None:
    _deadline.reset(token)  # type: ignore[arg-type]


def current() -> float | None:
    """The current request's deadline (``time.monotonic()``), or None without one."""
    return _deadline.get()


def remaining() -> float | None:
    """Seconds left before the current request's deadline (None without one)."""
    deadline = _deadline.get()
    return None if deadline is None else deadline - time.monotonic()


def bound(limit_s: float) -> float:
    """``limit_s`` or what is left of the deadline, whichever is shorter (may be ≤ 0)."""
    left = remaining()
    return limit_s if left is None else min(limit_s, left)


def binds(limit_s: float) -> bool:
    """True when the deadline, not ``limit_s``, is the shorter bound now."""
    left = remaining()
    return left is not None and left < limit_s


def check(waiting_for: str) -> None:
    """Raise ``DeadlineExceeded`` when no time is left."""
    left = remaining()
    if left is not None and left <= 0:
        raise DeadlineExceeded(f"the caller's deadline passed before {waiting_for}",
                               dependency=waiting_for)


@asynccontextmanager
async def enforced(waiting_for: str) -> AsyncIterator[None]:
    """Cut the block at the deadline (``DeadlineExceeded``); no-op without one."""
    deadline = _deadline.get()
    if deadline is None:
        yield
        return
    check(waiting_for)
    cut = asyncio.timeout(deadline - time.monotonic())
    try:
        async with cut:
            yield
    except TimeoutError:
        if not cut.expired():
            raise
        raise DeadlineExceeded(f"the caller's deadline passed while waiting for {waiting_for}",
                               dependency=waiting_for) from None
