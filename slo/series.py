"""The reductions objectives judge, over Prometheus' series (``promclient.series``).

A grid point with neither a value nor a NaN "no traffic" sample is a hole
(nothing was scraped or recorded), which :func:`coverage` measures. The
reductions work on the samples of one time window.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass

from promclient.series import Series
from slo.spec import meets

# labels that name one process exporting a counter, not what is counted: increments are
# taken per process (a restart resets only its own counter), then summed without them
PROCESS_LABELS = ("instance", "pod")


def quantile(values: Sequence[float], q: float) -> float:
    """The ``q`` quantile with linear interpolation (numpy's default method)."""
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q
    lo = math.floor(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def reduce(
    values: Sequence[float],
    aggregate: str,
    sample_op: str | None = None,
    sample_threshold: float | None = None,
) -> float:
    """Reduce one window's samples (non-empty) with ``aggregate``."""
    if aggregate == "mean":
        return math.fsum(values) / len(values)
    if aggregate == "max":
        return max(values)
    if aggregate == "min":
        return min(values)
    if aggregate == "last":
        return values[-1]
    if aggregate.startswith("p") and aggregate[1:].isdigit():
        return quantile(values, int(aggregate[1:]) / 100)
    if aggregate == "compliance":
        assert sample_op is not None and sample_threshold is not None
        good = sum(1 for v in values if meets(v, sample_op, sample_threshold))
        return good / len(values)
    raise ValueError(f"unknown aggregate {aggregate!r}")


def event_sum(series: Series, counter: bool) -> float:
    """Events in a window: the sum of rate samples, or a counter's increase (resets handled)."""
    if not counter:
        return math.fsum(series.values)
    total = 0.0
    for prev, cur in zip(series.values, series.values[1:], strict=False):
        total += cur - prev if cur >= prev else cur
    return total


@dataclass(frozen=True)
class Coverage:
    """How much of a window the samples cover, on the query's grid."""

    expected: int  # grid points in the window
    found: int  # grid points with a sample (a value or "no traffic") in some series
    longest_hole_s: float  # the longest run of grid points without one, in seconds
    hole_start: float | None  # where that run starts

    @property
    def share(self) -> float:
        return 1.0 if self.expected == 0 else self.found / self.expected


def grid_points(origin: float, step_s: float, start: float, end: float,
                include_end: bool) -> list[float]:
    """The query grid ``origin + k*step`` inside ``[start, end)`` (``]`` with ``include_end``)."""
    first = math.ceil((start - origin) / step_s - 1e-9)
    points = []
    k = max(first, 0)
    while True:
        t = origin + k * step_s
        if t > end + 1e-9 or (not include_end and t >= end - 1e-9):
            return points
        points.append(t)
        k += 1


def coverage(series: Sequence[Series], grid: Sequence[float], step_s: float) -> Coverage:
    """Which grid points have a sample (a value or "no traffic") in any of ``series``."""
    tolerance = step_s / 2
    longest = run = 0
    longest_start: float | None = None
    run_start: float | None = None
    found = 0
    for t in grid:
        present = any(
            s.at(t, tolerance) is not None or _near(s.no_traffic, t, tolerance) for s in series
        )
        if present:
            found += 1
            run, run_start = 0, None
            continue
        if run == 0:
            run_start = t
        run += 1
        if run > longest:
            longest, longest_start = run, run_start
    return Coverage(len(grid), found, longest * step_s, longest_start)


def _near(times: list[float], t: float, tolerance: float) -> bool:
    i = bisect_left(times, t - tolerance)
    return i < len(times) and times[i] <= t + tolerance


def process_groups(series: Sequence[Series]) -> dict[tuple, list[Series]]:
    """Counter series grouped by their labels without :data:`PROCESS_LABELS` and the name."""
    groups: dict[tuple, list[Series]] = {}
    for s in series:
        key = tuple(sorted((k, v) for k, v in s.labels.items()
                           if k not in PROCESS_LABELS and k != "__name__"))
        groups.setdefault(key, []).append(s)
    return groups
