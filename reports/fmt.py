"""How numbers, units, times and durations are written in the report (UTC, SI)."""

from __future__ import annotations

import math
from datetime import UTC, datetime

MISSING = "—"


def number(value: float | None, digits: int = 3) -> str:
    """A number with at most ``digits`` significant decimals and no trailing zeros."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return MISSING
    if float(value).is_integer() and abs(value) < 1e15:
        return f"{int(value):,}"
    magnitude = abs(value)
    if magnitude < 1:  # significant digits, so 0.0004 does not read as 0
        return f"{value:.{digits}g}"
    decimals = 1 if magnitude >= 100 else 2
    text = f"{value:,.{decimals}f}".rstrip("0").rstrip(".")
    return text if text not in ("", "-0") else "0"


def value(value: float | None, unit: str | None) -> str:
    """A measured value in its unit: seconds below one as milliseconds, ratios as percent."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return MISSING
    unit = (unit or "").strip()
    if unit == "s":
        if abs(value) < 1:
            return f"{number(value * 1000)} ms"
        return f"{number(value)} s"
    if unit == "ms":
        if abs(value) >= 1000:
            return f"{number(value / 1000)} s"
        return f"{number(value)} ms"
    if unit == "ratio":
        return f"{number(value * 100)} %"
    if unit == "%":
        return f"{number(value)} %"
    if unit in ("bool", "up"):
        return "up" if value >= 0.5 else "down"
    return f"{number(value)} {unit}".rstrip()


def duration(seconds: float | None) -> str:
    if seconds is None or not math.isfinite(seconds):
        return MISSING
    if seconds < 0:
        return "-" + duration(-seconds)
    if seconds < 10:
        return f"{number(round(seconds, 1))} s"
    total = int(round(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    if minutes:
        return f"{minutes} min {secs:02d} s" if secs else f"{minutes} min"
    return f"{secs} s"


def utc(timestamp: float | None) -> str:
    if timestamp is None or not math.isfinite(timestamp):
        return MISSING
    try:
        return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    except (OverflowError, OSError, ValueError):
        return MISSING


def offset(timestamp: float | None, origin: float | None) -> str:
    """Time since the start of the run, as ``T+m:ss``."""
    if timestamp is None or origin is None:
        return MISSING
    delta = timestamp - origin
    sign = "-" if delta < 0 else "+"
    whole = int(round(abs(delta)))
    minutes, secs = divmod(whole, 60)
    return f"T{sign}{minutes}:{secs:02d}"


def clock(seconds: float) -> str:
    """An axis label: ``m:ss`` (or ``h:mm:ss``) since the start."""
    whole = int(round(seconds))
    sign = "-" if whole < 0 else ""
    hours, rest = divmod(abs(whole), 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{sign}{hours}:{minutes:02d}:{secs:02d}"
    return f"{sign}{minutes}:{secs:02d}"


def percent_change(previous: float | None, current: float | None) -> float | None:
    if previous is None or current is None:
        return None
    if previous == 0:
        return None if current == 0 else math.copysign(math.inf, current)
    return (current - previous) / abs(previous) * 100.0


def signed_percent(change: float | None) -> str:
    if change is None:
        return MISSING
    if math.isinf(change):
        return "new" if change > 0 else "-new"
    return f"{change:+.1f} %"
