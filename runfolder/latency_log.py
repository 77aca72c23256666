"""Reading the load's HDR latency log (``latency.hlog``, loadtests/README.md).

One HdrHistogram per second and tag (``sent.<class>``, ``intended.<class>``; class
``all``, ``order-entry``, ``reads``, ``analytics``), values in microseconds. A
window's histogram is the sum of the seconds that start inside it. Lines may come
out of order (a slow worker's late part of a second): every line counts.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from hdrh.histogram import HdrHistogram

from runfolder.errors import RunFolderError

LOWEST_US, HIGHEST_US, DIGITS = 1, 3_600_000_000, 3  # as the load generator records


@dataclass(frozen=True)
class LatencyInterval:
    tag: str
    start: float  # unix seconds: the second [start, start + 1) the answers arrived in
    histogram: HdrHistogram


def read_intervals(path: Path) -> list[LatencyInterval]:
    """Every interval of the log; :class:`RunFolderError` names a line that is not one."""
    out = []
    try:
        handle = path.open(encoding="utf-8")
    except OSError as exc:
        raise RunFolderError(path, "(file)", f"cannot be read: {exc.strerror}") from None
    with handle:
        for number, line in enumerate(handle, 1):
            if not line.startswith("Tag="):
                continue
            try:
                tag, start, _length, _max, encoded = line.strip().split(",", 4)
                histogram = HdrHistogram.decode(encoded)
                out.append(LatencyInterval(tag.removeprefix("Tag="), float(start), histogram))
            except (ValueError, TypeError) as exc:
                raise RunFolderError(path, f"line {number}",
                                     f"not an HdrHistogram log line: {exc}") from None
    return out


def in_window(second: float, start: float, end: float) -> bool:
    """Whether the 1 s interval starting at ``second`` belongs to ``[start, end)``: its
    middle is inside (a phase bound rarely falls on a whole second; the interval goes
    where most of it lies, so a phase neither misses its last second nor takes the next
    phase's first)."""
    return start <= second + 0.5 < end


def seconds_in(start: float, end: float) -> int:
    """How many 1 s intervals belong to ``[start, end)`` (``in_window``)."""
    return max(0, math.ceil(end - 0.5 - 1e-9) - math.ceil(start - 0.5 - 1e-9))


def summed(intervals: Iterable[LatencyInterval], start: float, end: float
           ) -> dict[str, HdrHistogram]:
    """Per tag, the sum of the intervals that belong to ``[start, end)`` (``in_window``)."""
    sums: dict[str, HdrHistogram] = {}
    for interval in intervals:
        if in_window(interval.start, start, end):
            total = sums.get(interval.tag)
            if total is None:
                total = sums[interval.tag] = HdrHistogram(LOWEST_US, HIGHEST_US, DIGITS)
            total.add(interval.histogram)
    return sums


def seconds_of(intervals: Iterable[LatencyInterval], tag: str, start: float, end: float
               ) -> set[float]:
    """The seconds of ``[start, end)`` (``in_window``) that have a line of ``tag``."""
    return {i.start for i in intervals if i.tag == tag and in_window(i.start, start, end)}
