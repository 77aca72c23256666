"""Time series as Prometheus returns them, and the reductions objectives judge.

A :class:`Series` holds one labelled series of a range query on a regular
grid (NaN samples dropped: ``0/0`` ratios mean "no traffic", not a value).
The reductions work on the samples of one time window.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field

from slo.spec import meets


@dataclass
class Series:
    labels: dict[str, str]
    times: list[float] = field(default_factory=list)
    values: list[float] = field(default_factory=list)

    @property
    def key(self) -> tuple[tuple[str, str], ...]:
        """Identity for matching series across queries (the metric name is ignored)."""
        return tuple(sorted((k, v) for k, v in self.labels.items() if k != "__name__"))

    def window(self, start: float, end: float, include_end: bool = True) -> Series:
        """The samples with ``start <= t <= end`` (``t < end`` unless ``include_end``)."""
        lo = bisect_left(self.times, start)
        hi = bisect_right(self.times, end) if include_end else bisect_left(self.times, end)
        return Series(self.labels, self.times[lo:hi], self.values[lo:hi])

    def at(self, t: float, tolerance: float) -> float | None:
        """The sample at ``t`` (within ``tolerance``), or None."""
        i = bisect_left(self.times, t - tolerance)
        if i < len(self.times) and self.times[i] <= t + tolerance:
            return self.values[i]
        return None

    def label_text(self) -> str:
        inner = ",".join(f'{k}="{v}"' for k, v in self.key)
        return "{" + inner + "}"


def from_matrix(result: Sequence[dict]) -> list[Series]:
    """Series from a Prometheus ``matrix`` result (NaN samples dropped)."""
    out: list[Series] = []
    for item in result:
        pairs = item.get("values", ())
        times = [float(t) for t, _ in pairs]
        values = [float(v) for _, v in pairs]
        if any(v != v for v in values):  # NaN (0/0 ratios): no traffic, not a value
            kept = [(t, v) for t, v in zip(times, values, strict=True) if v == v]
            times = [t for t, _ in kept]
            values = [v for _, v in kept]
        out.append(Series(dict(item.get("metric", {})), times, values))
    return out


def merge(parts: Sequence[list[Series]]) -> list[Series]:
    """Join the chunks of one query (consecutive, non-overlapping windows) series by series."""
    merged: dict[tuple, Series] = {}
    for chunk in parts:
        for s in chunk:
            key = tuple(sorted(s.labels.items()))
            if key in merged:
                merged[key].times.extend(s.times)
                merged[key].values.extend(s.values)
            else:
                merged[key] = Series(dict(s.labels), list(s.times), list(s.values))
    return list(merged.values())


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
