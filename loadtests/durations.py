"""Durations as people write them: ``90``, ``20s``, ``5m``, ``1h30m``, ``1h 30m 10s``.

Hand-written rather than Locust's ``parse_timespan`` because importing anything
from the ``locust`` package monkey-patches the whole process with gevent, which
the CLI and the reconciler (asyncio) must not suffer.
"""

from __future__ import annotations

import re

_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(h|m|s)", re.IGNORECASE)
_UNITS = {"h": 3600.0, "m": 60.0, "s": 1.0}


def parse_seconds(text: str) -> float:
    """Seconds in ``text``; ``ValueError`` when it is not a duration."""
    text = str(text).strip()
    if not text:
        raise ValueError("empty duration")
    try:
        return float(text)
    except ValueError:
        pass
    compact = re.sub(r"\s+", "", text)
    parts = _PART.findall(compact)
    if not parts or "".join(n + u for n, u in parts).lower() != compact.lower():
        raise ValueError(f"not a duration: {text!r}")
    units = [u.lower() for _, u in parts]
    if len(set(units)) != len(units):
        raise ValueError(f"unit repeated in {text!r}")
    return sum(float(n) * _UNITS[u.lower()] for n, u in parts)
