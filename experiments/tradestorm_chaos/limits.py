"""The limits of the activities' arguments: one table, for run time and validation alike.

An action or probe checks its arguments with :func:`check` when it runs, and
``validation`` checks an experiment's arguments (after the configuration is
substituted, as Chaos Toolkit will do it) with the very same function before
anything runs, so a file that validates never fails on a limit at run time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Limit:
    """A number an argument must be: a whole number (``integer``) or seconds."""

    integer: bool
    minimum: float
    maximum: float
    minimum_excluded: bool = False

    def describe(self) -> str:
        low = "(" if self.minimum_excluded else "["
        kind = "an integer" if self.integer else "a number of seconds"
        return f"{kind} in {low}{self.minimum:g}, {self.maximum:g}]"


MAX_DURATION_S = 3600.0
MAX_LATENCY_MS = 600_000

#: argument name -> its limit, whichever activity takes it
LIMITS: dict[str, Limit] = {
    "count": Limit(integer=True, minimum=1, maximum=100),
    "ms": Limit(integer=True, minimum=0, maximum=MAX_LATENCY_MS),
    "jitter_ms": Limit(integer=True, minimum=0, maximum=MAX_LATENCY_MS),
    "workers": Limit(integer=True, minimum=1, maximum=64),
    "load": Limit(integer=True, minimum=1, maximum=100),
    "minimum": Limit(integer=True, minimum=0, maximum=1000),
    "above": Limit(integer=True, minimum=0, maximum=1000),
    "at_most": Limit(integer=True, minimum=0, maximum=10**9),
    "duration": Limit(integer=False, minimum=0, maximum=MAX_DURATION_S, minimum_excluded=True),
    "timeout": Limit(integer=False, minimum=0, maximum=MAX_DURATION_S),
    "window": Limit(integer=False, minimum=1, maximum=86_400),
    "step": Limit(integer=False, minimum=0, maximum=MAX_DURATION_S, minimum_excluded=True),
}


def check(name: str, value: Any) -> Any:
    """``value`` as the number argument ``name`` takes; ``ValueError`` (naming it and the
    limit) when it is not one or is out of bounds. Names without a limit pass through."""
    limit = LIMITS.get(name)
    if limit is None:
        return value
    number: Any = value
    if isinstance(value, str):
        text = value.strip()
        try:
            number = int(text) if limit.integer else float(text)
        except ValueError:
            number = value
    if limit.integer and isinstance(number, float) and number.is_integer():
        number = int(number)
    wanted = int if limit.integer else int | float
    if (isinstance(number, bool) or not isinstance(number, wanted)
            or (isinstance(number, float) and not math.isfinite(number))):
        raise ValueError(f"{name} must be {limit.describe()}, got {value!r}")
    too_low = number <= limit.minimum if limit.minimum_excluded else number < limit.minimum
    if too_low or number > limit.maximum:
        raise ValueError(f"{name} must be {limit.describe()}, got {value!r}")
    return number if limit.integer else float(number)
