"""Client latency per phase from the load's HDR interval log (``latency.hlog``).

The log (loadtests/README.md "HDR latency log") holds one HdrHistogram per second
and tag: ``sent.<class>`` (latency from the actual send) and ``intended.<class>``
(from when the schedule meant to send it: coordinated omission corrected), class
``all``, ``order-entry``, ``reads`` or ``analytics``, values in microseconds. A
phase's histogram is the sum of the seconds that start inside it, so its
percentiles are exact to the histogram's precision (3 significant digits), not to
the 10 s windows of the Prometheus charts. Lines may come out of order (a slow
worker's late part of a second); every line counts.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from hdrh.histogram import HdrHistogram

from reports.errors import ResultsFileError
from reports.run_info import RunInfo
from runfolder.layout import LATENCY_HLOG

LATENCY_LOG = LATENCY_HLOG
CLASSES = ("all", "order-entry", "reads", "analytics")
PERCENTILES = (50.0, 90.0, 99.0, 99.9)
_LOWEST, _HIGHEST, _DIGITS = 1, 3_600_000_000, 3  # µs, as the load generator records


@dataclass(frozen=True)
class Latency:
    count: int
    percentiles: dict[float, float]  # percentile -> seconds
    max_s: float


@dataclass(frozen=True)
class PhaseLatency:
    phase: str
    route_class: str
    sent: Latency | None
    intended: Latency | None

    @property
    def omitted(self) -> bool:
        """The intended-time p99 is above the sent-time one: answers the schedule waited for."""
        return (self.sent is not None and self.intended is not None
                and self.intended.percentiles[99.0] > self.sent.percentiles[99.0] * 1.001)


def read_intervals(path: Path) -> list[tuple[str, float, HdrHistogram]]:
    """(tag, interval start, histogram) of every line of the log."""
    out = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.startswith("Tag="):
                continue
            try:
                tag_part, start, _length, _max, encoded = line.strip().split(",", 4)
                histogram = HdrHistogram.decode(encoded)
                out.append((tag_part.removeprefix("Tag="), float(start), histogram))
            except (ValueError, TypeError) as exc:
                raise ResultsFileError(path, f"line {number}",
                                       f"not an HdrHistogram log line: {exc}") from None
    return out


def phase_latency(results_dir: Path, info: RunInfo) -> list[PhaseLatency]:
    """Per judged phase (and route class with answers), sent- and intended-time latency."""
    path = results_dir / LATENCY_LOG
    if not path.is_file():
        return []
    intervals = read_intervals(path)
    phases = [p for p in info.phases if p.start is not None and p.end is not None]
    rows = []
    for phase in phases:
        sums: dict[str, HdrHistogram] = {}
        for tag, start, histogram in intervals:
            if phase.start <= start < phase.end:
                total = sums.get(tag)
                if total is None:
                    total = sums[tag] = HdrHistogram(_LOWEST, _HIGHEST, _DIGITS)
                total.add(histogram)
        for route_class in CLASSES:
            sent = _latency(sums.get(f"sent.{route_class}"))
            intended = _latency(sums.get(f"intended.{route_class}"))
            if sent is not None or intended is not None:
                rows.append(PhaseLatency(phase.name, route_class, sent, intended))
    return rows


def _latency(histogram: HdrHistogram | None) -> Latency | None:
    if histogram is None or histogram.get_total_count() == 0:
        return None
    return Latency(
        count=histogram.get_total_count(),
        percentiles={p: histogram.get_value_at_percentile(p) / 1e6 for p in PERCENTILES},
        max_s=histogram.get_max_value() / 1e6,
    )
