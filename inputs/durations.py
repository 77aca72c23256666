"""Durations as people write them: one grammar for scenarios, SLO specs, the load
generator's options and the command line.

::

    90   1.5   20s   500ms   5m   1h30m   1h 30m 10s   1m30.5s   2H   1e3

- a bare number is seconds (a decimal, optionally with an exponent: ``1e3``);
- otherwise one or more parts ``NUMBER UNIT`` with the units ``h``, ``m``,
  ``s`` and ``ms``, each at most once and in that (descending) order, with
  optional spaces between the parts and between a number and its unit;
- case-insensitive; leading and trailing spaces are ignored;
- ``int``/``float`` values are seconds;
- refused: empty text, a sign, a repeated or out-of-order unit, a number
  without unit after a part, NaN, infinity and booleans.

Parsed to float seconds (durations are time, not money). Callers wrap the
``ValueError`` into their own error naming the field (and decide whether 0 is
allowed). This module imports nothing but the standard library: ``slo``,
``loadtests`` (also inside Locust's gevent-patched processes) and
``tradestorm`` all use it without import cycles.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal

__all__ = ["EXAMPLE", "format_duration", "parse_duration"]

EXAMPLE = "a duration like 20s, 1m30s or 500ms (a bare number is seconds)"

_NUMBER = r"\d+(?:\.\d+)?"
_BARE = re.compile(rf"{_NUMBER}(?:e[+-]?\d+)?", re.IGNORECASE)
# Each unit at most once, in descending order; backtracking tells "5m" from "5ms".
_PARTS = re.compile(
    rf"(?:(?P<h>{_NUMBER})\s*h\s*)?"
    rf"(?:(?P<m>{_NUMBER})\s*m\s*)?"
    rf"(?:(?P<s>{_NUMBER})\s*s\s*)?"
    rf"(?:(?P<ms>{_NUMBER})\s*ms)?",
    re.IGNORECASE,
)
_UNIT_SECONDS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}


def parse_duration(value: object) -> float:
    """Seconds in ``value`` (see the module docstring); ``ValueError`` saying what is expected."""
    if isinstance(value, bool):
        raise ValueError(f"expected {EXAMPLE}, got {value!r}")
    if isinstance(value, int | float):
        try:
            seconds = float(value)
        except OverflowError:
            raise ValueError(f"expected a finite duration, got {value!r}") from None
    elif isinstance(value, str):
        seconds = _parse_text(value)
    else:
        raise ValueError(f"expected {EXAMPLE}, got {value!r}")
    if math.isnan(seconds) or math.isinf(seconds):
        raise ValueError(f"expected a finite duration, got {value!r}")
    if seconds < 0:
        raise ValueError(f"expected a duration of zero or more, got {value!r}")
    return seconds


def _parse_text(value: str) -> float:
    text = value.strip()
    if _BARE.fullmatch(text):
        return float(text)
    match = _PARTS.fullmatch(text)
    if not text or match is None or not any(match.groupdict().values()):
        raise ValueError(f"expected {EXAMPLE}, got {value!r}")
    seconds = 0.0
    for unit, number in match.groupdict().items():
        if number is not None:
            seconds += float(number) * _UNIT_SECONDS[unit]
    return seconds


def format_duration(seconds: float, *, exact: bool = False) -> str:
    """``75.0`` -> ``"1m15s"``, ``5.25`` -> ``"5.2s"``: for people (messages, progress).

    Under 10 s tenths are shown, above whole seconds. ``exact=True`` writes the
    value itself in seconds (``"0.00001s"``, ``"4s"``) so that
    :func:`parse_duration` gives back the same float (recorded documents).
    Either way the text parses again; a negative value gets a ``-`` (display only).
    """
    if not math.isfinite(seconds):
        raise ValueError(f"not a finite duration: {seconds!r}")
    if seconds < 0:
        return "-" + format_duration(-seconds, exact=exact)
    if exact:
        text = format(Decimal(repr(float(seconds))), "f")
        if "." in text:
            text = text.rstrip("0").rstrip(".")
        return f"{text}s"
    tenths = round(seconds * 10)
    if tenths < 100:
        whole, tenth = divmod(tenths, 10)
        return f"{whole}s" if tenth == 0 else f"{whole}.{tenth}s"
    total = round(seconds)
    if total < 60:
        return f"{total}s"
    minutes, rest = divmod(total, 60)
    if minutes < 60:
        return f"{minutes}m{rest:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m{rest:02d}s"
