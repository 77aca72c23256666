"""Durations as users write them in scenario files and on the command line.

``"20s"``, ``"1m30s"``, ``"2m"``, ``"500ms"``, ``"1h"``; a bare number is
seconds. Parsed to float seconds (durations are time, not money).
"""

from __future__ import annotations

import re

_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}

EXAMPLE = "a duration like 20s, 1m30s or 500ms"


def parse_duration(value: object) -> float:
    """Seconds in ``value``; ``ValueError`` (saying what is expected) otherwise."""
    if isinstance(value, bool):
        raise ValueError(f"expected {EXAMPLE}, got {value!r}")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str):
        text = value.strip().lower().replace(" ", "")
        if re.fullmatch(r"\d+(\.\d+)?", text):
            seconds = float(text)
        else:
            pos = 0
            seconds = 0.0
            for match in _PART.finditer(text):
                if match.start() != pos:
                    break
                seconds += float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
                pos = match.end()
            if pos != len(text) or not text:
                raise ValueError(f"expected {EXAMPLE}, got {value!r}")
    else:
        raise ValueError(f"expected {EXAMPLE}, got {value!r}")
    if seconds < 0 or seconds != seconds or seconds == float("inf"):
        raise ValueError(f"expected {EXAMPLE} (zero or more), got {value!r}")
    return seconds


def format_duration(seconds: float) -> str:
    """``75.0`` -> ``"1m15s"``; used in messages and the progress display."""
    if seconds < 0:
        return "-" + format_duration(-seconds)
    if seconds < 60:
        return f"{seconds:.0f}s" if seconds == int(seconds) or seconds >= 10 else f"{seconds:.1f}s"
    minutes, rest = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes}m{rest:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m{rest:02d}s"
