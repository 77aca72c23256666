"""Client latency per phase from the load's HDR interval log (``latency.hlog``).

The log (loadtests/README.md "HDR latency log") holds one HdrHistogram per second
and tag: ``sent.<class>`` (latency from the actual send) and ``intended.<class>``
(from when the schedule meant to send it: coordinated omission corrected), class
``all``, ``order-entry``, ``reads`` or ``analytics``, values in microseconds. A
phase's histogram is the sum of the seconds that start inside it
(:mod:`runfolder.latency_log`), so its percentiles are exact to the histogram's
precision (3 significant digits), not to the 10 s windows of the Prometheus charts.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from hdrh.histogram import HdrHistogram

from reports.errors import ResultsFileError
from reports.run_info import RunInfo
from runfolder.errors import RunFolderError
from runfolder.latency_log import read_intervals, summed
from runfolder.layout import LATENCY_HLOG

CLASSES = ("all", "order-entry", "reads", "analytics")
PERCENTILES = (50.0, 90.0, 99.0, 99.9)


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


def phase_latency(results_dir: Path, info: RunInfo) -> list[PhaseLatency]:
    """Per judged phase (and route class with answers), sent- and intended-time latency."""
    path = results_dir / LATENCY_HLOG
    if not path.is_file():
        return []
    try:
        intervals = read_intervals(path)
    except RunFolderError as exc:
        raise ResultsFileError(exc.source, exc.field, exc.problem) from None
    phases = [p for p in info.phases if p.start is not None and p.end is not None]
    rows = []
    for phase in phases:
        assert phase.start is not None and phase.end is not None
        sums = summed(intervals, phase.start, phase.end)
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
