"""Latency objectives judged on the load's HDR log, the requests of the phase itself.

A threshold SLI with a ``tradestorm.dev/hdr`` annotation (``sent 99``) has a twin in
the results folder's ``latency.hlog`` (loadtests/README.md): when the log is there,
the objective's value in a phase is that percentile of every answer that arrived in
the phase (sent time, or the intended send time), exact to the histogram's three
significant digits, instead of an aggregate of 10 s windows that reach back into the
previous phase. The seconds of the phase must be in the log (the coverage rule: the
``<kind>.all`` line is written every second); a phase in which the route class had
no answer is "no traffic". An objective from an OpenSLO timeslice SLO (aggregate
``compliance``: the share of 1 s slices whose percentile meets the SLO's value) is
judged on the log's own seconds: each second's percentile of its answers, the
seconds without an answer left out as no traffic.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from runfolder.errors import RunFolderError
from runfolder.latency_log import (
    LatencyInterval,
    in_window,
    read_intervals,
    seconds_in,
    seconds_of,
    summed,
)
from runfolder.layout import LATENCY_HLOG
from slo.errors import ResultsError
from slo.result import ObjectiveResult
from slo.run import Phase
from slo.spec import Criteria, Objective, judge, meets


def log_of(results_dir: Path | None) -> Path | None:
    """The folder's HDR latency log, when it has one."""
    if results_dir is None:
        return None
    path = results_dir / LATENCY_HLOG
    return path if path.is_file() else None


@lru_cache(maxsize=4)
def _intervals(path: str, mtime_ns: int, size: int) -> tuple[LatencyInterval, ...]:
    try:
        return tuple(read_intervals(Path(path)))
    except RunFolderError as exc:
        raise ResultsError(exc.source, exc.field, exc.problem) from None


def intervals(path: Path) -> tuple[LatencyInterval, ...]:
    """The log's intervals (read once per version of the file)."""
    stat = path.stat()
    return _intervals(str(path), stat.st_mtime_ns, stat.st_size)


def phase_value(
    path: Path, phase: Phase, kind: str, percentile: float, route_class: str | None
) -> tuple[float | None, int, int, int]:
    """(value in seconds or None when no answer, answers, seconds found, seconds expected)."""
    found_all = intervals(path)
    expected = seconds_in(phase.start, phase.end)
    found = len(seconds_of(found_all, f"{kind}.all", phase.start, phase.end))
    histogram = summed(found_all, phase.start, phase.end).get(f"{kind}.{route_class or 'all'}")
    if histogram is None or histogram.get_total_count() == 0:
        return None, 0, found, expected
    value = histogram.get_value_at_percentile(percentile) / 1e6
    return value, histogram.get_total_count(), found, expected


def phase_slices(
    path: Path, phase: Phase, kind: str, percentile: float, route_class: str | None,
    op: str, threshold: float,
) -> tuple[int, int]:
    """(good, total): the phase's seconds with an answer of the route class, and how many
    of them had their percentile ``op threshold`` (seconds)."""
    tag = f"{kind}.{route_class or 'all'}"
    good = total = 0
    for interval in intervals(path):
        if interval.tag != tag or not in_window(interval.start, phase.start, phase.end):
            continue
        if interval.histogram.get_total_count() == 0:
            continue
        total += 1
        good += meets(interval.histogram.get_value_at_percentile(percentile) / 1e6, op,
                      threshold)
    return good, total


def judge_phase(
    objective: Objective,
    criteria: Criteria,
    result: ObjectiveResult,
    phase: Phase,
    log: Path,
    needed: float,
) -> ObjectiveResult:
    """``result`` judged on the phase's own percentile from the load's HDR log ``log``."""
    assert objective.sli.hdr is not None
    kind, percentile = objective.sli.hdr
    value, answers, found, expected = phase_value(log, phase, kind, percentile,
                                                      objective.route_class)
    share = 1.0 if expected == 0 else found / expected
    result.coverage = round(share, 4)
    result.longest_hole_s = float(expected - found)  # the log has no gaps inside a second
    result.source = f"hdr:{kind}"
    of_class = f" of route class {objective.route_class}" if objective.route_class else ""
    if share < needed:
        result.detail = (f"the HDR latency log has {found} of the {expected} seconds of the "
                         f"{phase.name} phase ({share:.0%}); the objective needs {needed:.0%}")
        return result
    if value is None:
        result.detail = f"no traffic{of_class} in the {phase.name} phase: no answer to judge"
        return result
    origin = "sent" if kind == "sent" else "intended send"
    if objective.aggregate == "compliance":
        return _judge_slices(objective, criteria, result, phase, log, of_class, origin)
    result.verdict = judge(value, objective.op, criteria.target, criteria.warning)
    result.value, result.samples = value, answers
    limits = criteria.describe(objective.op)
    result.detail = (f"p{percentile:g} of the {answers} answers{of_class} in the phase (HDR log, "
                     f"from the {origin} time) = {value:.6g} s; objective {limits}: "
                     f"{result.verdict}")
    return result


def _judge_slices(objective: Objective, criteria: Criteria, result: ObjectiveResult,
                  phase: Phase, log: Path, of_class: str, origin: str) -> ObjectiveResult:
    """A timeslice objective on the log's seconds (``phase_slices``)."""
    assert objective.sli.hdr is not None
    assert objective.sample_op is not None and objective.sample_threshold is not None
    kind, percentile = objective.sli.hdr
    good, total = phase_slices(log, phase, kind, percentile, objective.route_class,
                               objective.sample_op, objective.sample_threshold)
    value = good / total
    result.verdict = judge(value, objective.op, criteria.target, criteria.warning)
    result.value, result.samples = value, total
    limits = criteria.describe(objective.op)
    result.detail = (f"{good} of the {total} seconds with answers{of_class} had p{percentile:g} "
                     f"{objective.sample_op} {objective.sample_threshold:g} s (HDR log, from "
                     f"the {origin} time): share {value:.4g}; objective {limits}: "
                     f"{result.verdict}")
    return result
