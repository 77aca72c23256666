"""Reading the load's HDR latency log (``latency.hlog``, loadtests/README.md).

One HdrHistogram per second and tag (``sent.<class>``, ``intended.<class>``; class
``all``, ``order-entry``, ``reads``, ``analytics``), values in microseconds. A
window's histogram is the sum of the seconds that start inside it. Lines may come
out of order (a slow worker's late part of a second): every line counts.
"""

from __future__ import annotations

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


def summed(intervals: Iterable[LatencyInterval], start: float, end: float
           ) -> dict[str, HdrHistogram]:
    """Per tag, the sum of the intervals that start in ``[start, end)``."""
    sums: dict[str, HdrHistogram] = {}
    for interval in intervals:
        if start <= interval.start < end:
            total = sums.get(interval.tag)
            if total is None:
                total = sums[interval.tag] = HdrHistogram(LOWEST_US, HIGHEST_US, DIGITS)
            total.add(interval.histogram)
    return sums


def seconds_of(intervals: Iterable[LatencyInterval], tag: str, start: float, end: float
               ) -> set[float]:
    """The seconds in ``[start, end)`` that have a line of ``tag``."""
    return {i.start for i in intervals if i.tag == tag and start <= i.start < end}
