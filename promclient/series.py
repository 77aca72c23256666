"""Time series as Prometheus returns them.

A :class:`Series` holds one labelled series of a range query on a regular
grid. NaN samples (``0/0`` ratios: "no traffic") are kept apart from the
values, in ``no_traffic``: they are not a value to judge, but they are not a
hole either.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass
class Series:
    labels: dict[str, str]
    times: list[float] = field(default_factory=list)
    values: list[float] = field(default_factory=list)
    no_traffic: list[float] = field(default_factory=list)  # times of NaN samples

    @property
    def key(self) -> tuple[tuple[str, str], ...]:
        """Identity for matching series across queries (the metric name is ignored)."""
        return tuple(sorted((k, v) for k, v in self.labels.items() if k != "__name__"))

    def window(self, start: float, end: float, include_end: bool = True) -> Series:
        """The samples with ``start <= t <= end`` (``t < end`` unless ``include_end``)."""
        lo = bisect_left(self.times, start)
        hi = bisect_right(self.times, end) if include_end else bisect_left(self.times, end)
        nlo = bisect_left(self.no_traffic, start)
        nhi = (bisect_right(self.no_traffic, end) if include_end
               else bisect_left(self.no_traffic, end))
        return Series(self.labels, self.times[lo:hi], self.values[lo:hi],
                      self.no_traffic[nlo:nhi])

    def before(self, t: float) -> float | None:
        """The last value at or before ``t``, or None."""
        i = bisect_right(self.times, t)
        return self.values[i - 1] if i else None

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
        no_traffic: list[float] = []
        if any(v != v for v in values):  # NaN (0/0 ratios): no traffic, not a value
            no_traffic = [t for t, v in zip(times, values, strict=True) if v != v]
            kept = [(t, v) for t, v in zip(times, values, strict=True) if v == v]
            times = [t for t, _ in kept]
            values = [v for _, v in kept]
        out.append(Series(dict(item.get("metric", {})), times, values, no_traffic))
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
                merged[key].no_traffic.extend(s.no_traffic)
            else:
                merged[key] = Series(dict(s.labels), list(s.times), list(s.values),
                                     list(s.no_traffic))
    return list(merged.values())
