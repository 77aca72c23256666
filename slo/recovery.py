"""Recovery time: from the end of a fault until an SLI is back within objective.

"Back" means the condition held for ``consecutive`` samples in a row; the
recovery instant is the first of those samples, so the answer is exact to one
sample interval. With several series (e.g. one per service) every series that
has a sample must meet the condition; a missing sample breaks the streak (no
evidence of recovery is not recovery).

A ratio SLI over counters (``counter: true``) is judged on per-scrape
increments, not on a trailing rate (slo/counters.py): each grid step holds the
events of the scrape intervals reaching into it, so an error before the fault's
end never shows up after it, and the recovery instant is the start of the
earliest scrape interval of the first good step (the first scrape after the
last error), within one scrape interval of when the errors stopped. A step with
no new events keeps the state of the last one.
"""

from __future__ import annotations

from promclient.errors import PrometheusError
from promclient.series import Series
from slo import counters
from slo.result import FAIL, NO_DATA, NOT_APPLICABLE, PASS, WARNING, RecoveryResult
from slo.run import Fault, RunInfo
from slo.series import grid_points
from slo.spec import Recovery, meets


def faults_for(item: Recovery, run: RunInfo) -> list[Fault]:
    """The faults ``item`` applies to; a ``fault`` phase stands in when run.json lists none."""
    faults = [
        f
        for f in run.faults
        if (item.fault_action is None or f.action == item.fault_action)
        and (item.fault_target is None or f.target == item.fault_target)
    ]
    unfiltered = item.fault_action is None and item.fault_target is None
    if not faults and not run.faults and unfiltered and run.only_phase is None:
        phase = run.phase("fault")
        if phase is not None and phase.name == "fault":
            faults = [Fault(action=None, target=None, start=phase.start, end=phase.end)]
    return faults


def evaluate_recovery(
    item: Recovery, run: RunInfo, fetched: dict, step_s: float
) -> list[RecoveryResult]:
    faults = faults_for(item, run)
    if not faults:
        wanted = " ".join(x for x in (item.fault_action, item.fault_target) if x)
        text = f"no {wanted} fault in this run" if wanted else "no fault in this run"
        return [
            _result(item, "(none)", None, NOT_APPLICABLE, detail=f"{text}: nothing to recover from")
        ]
    failed = next((o for q in item.sli.queries
                   if isinstance(o := fetched.get(q), PrometheusError)), None)
    results = []
    for fault in faults:
        if failed is not None:
            results.append(
                _result(item, fault.label, fault.end, NO_DATA, detail=f"query failed: {failed}")
            )
            continue
        if item.sli.kind == "ratio":
            results.append(_from_increments(item, fault, run, fetched, step_s))
        else:
            assert item.sli.query is not None
            results.append(_one(item, fault, run.end, fetched.get(item.sli.query) or [], step_s))
    return results


def _from_increments(
    item: Recovery, fault: Fault, run: RunInfo, fetched: dict, step_s: float
) -> RecoveryResult:
    sli = item.sli
    assert sli.total is not None
    part_query = sli.good or sli.bad
    assert part_query is not None
    grid = grid_points(run.start, step_s, fault.end, run.end, include_end=True)
    groups = counters.grouped(
        fetched.get(sli.total) or [], fetched.get(part_query) or [],
        (fetched.get(sli.scraped_at) or []) if sli.scraped_at else [], step_s, run.start)
    found_by_group = list(groups.values())
    cells = [counters.per_step(found, grid, step_s) for found in found_by_group]
    if not grid or not cells:
        return _result(item, fault.label, fault.end, NO_DATA,
                       detail=f"no samples of {sli.name!r} after the fault ended")
    state: list[bool | None] = [None] * len(cells)  # the last judged step per group
    streak = 0
    streak_start: float | None = None
    for i, t in enumerate(grid):
        hole = False
        for g, steps in enumerate(cells):
            counted = steps[i]
            if counted is None:
                hole = True
                continue
            events, part_events = counted
            if part_events is None:
                hole = True  # no good/bad series: no evidence either way
            elif events > 0:
                share = part_events / events
                state[g] = meets(share if sli.good else 1.0 - share, item.op, item.threshold)
        ok = not hole and all(s is not False for s in state) and any(
            s is not None for s in state)
        if ok:
            if streak == 0:
                # every interval reaching into this clean cell is clean: the recovery began
                # with the earliest of them (the first scrape after the last error)
                starts = [x for found in found_by_group
                          if (x := counters.earliest_start(found, t - step_s, t)) is not None]
                streak_start = max(fault.end, min(starts, default=t - step_s))
            streak += 1
        else:
            streak, streak_start = 0, None
        if streak >= item.consecutive:
            assert streak_start is not None
            return _recovered(item, fault, streak_start, "per-scrape increments of ")
    return _result(
        item,
        fault.label,
        fault.end,
        FAIL,
        detail=f"not back to {sli.name} {item.op} {item.threshold:g} (per-scrape increments) "
        f"for {item.consecutive} samples by the end of the run "
        f"({run.end - fault.end:.1f}s after the fault ended)",
    )


def _recovered(item: Recovery, fault: Fault, at: float, how: str = "") -> RecoveryResult:
    seconds = max(0.0, at - fault.end)
    if seconds > item.target_seconds:
        verdict = FAIL
    elif item.warning_seconds is not None and seconds > item.warning_seconds:
        verdict = WARNING
    else:
        verdict = PASS
    return _result(
        item,
        fault.label,
        fault.end,
        verdict,
        recovered_at=at,
        seconds=seconds,
        detail=f"{how}{item.sli.name} {item.op} {item.threshold:g} for {item.consecutive} "
        f"samples from {seconds:.1f}s after the fault ended "
        f"(objective: within {item.target_seconds:g}s)",
    )


def _one(
    item: Recovery, fault: Fault, run_end: float, series: list[Series], step_s: float
) -> RecoveryResult:
    windows = [s.window(fault.end, run_end) for s in series]
    grid = sorted({t for w in windows for t in w.times})
    if not grid:
        return _result(
            item,
            fault.label,
            fault.end,
            NO_DATA,
            detail=f"no samples of {item.sli.name!r} after the fault ended",
        )
    streak_start: float | None = None
    streak = 0
    previous_t: float | None = None
    tolerance = step_s / 2
    for t in grid:
        values = [v for w in windows if (v := w.at(t, tolerance)) is not None]
        ok = bool(values) and all(meets(v, item.op, item.threshold) for v in values)
        gap = previous_t is not None and t - previous_t > step_s * 1.5  # a missing sample
        previous_t = t
        if not ok or gap:
            streak, streak_start = (1, t) if ok else (0, None)
        else:
            if streak == 0:
                streak_start = t
            streak += 1
        if streak >= item.consecutive:
            assert streak_start is not None
            return _recovered(item, fault, streak_start)
    return _result(
        item,
        fault.label,
        fault.end,
        FAIL,
        detail=f"not back to {item.sli.name} {item.op} {item.threshold:g} for "
        f"{item.consecutive} samples by the end of the run "
        f"({run_end - fault.end:.1f}s after the fault ended)",
    )


def _result(
    item: Recovery,
    fault: str,
    fault_end: float | None,
    verdict: str,
    *,
    recovered_at: float | None = None,
    seconds: float | None = None,
    detail: str = "",
) -> RecoveryResult:
    return RecoveryResult(
        name=item.name,
        sli=item.sli.name,
        fault=fault,
        fault_end=fault_end,
        recovered_at=recovered_at,
        seconds=None if seconds is None else round(seconds, 3),
        target_seconds=item.target_seconds,
        verdict=verdict,
        key=item.key,
        weight=item.weight,
        warning_seconds=item.warning_seconds,
        consecutive=item.consecutive,
        query=item.sli.query or "",
        detail=detail,
    )
