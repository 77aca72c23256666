"""Recovery time: from the end of a fault until an SLI is back within objective.

"Back" means the condition held for ``consecutive`` samples in a row; the
recovery instant is the first of those samples, so the answer is exact to one
sample interval. With several series (e.g. one per service) every series that
has a sample must meet the condition; a missing sample breaks the streak (no
evidence of recovery is not recovery).
"""

from __future__ import annotations

from slo.errors import PrometheusError
from slo.result import FAIL, NO_DATA, NOT_APPLICABLE, PASS, WARNING, RecoveryResult
from slo.run import Fault, RunInfo
from slo.series import Series
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
    assert item.sli.query is not None
    outcome = fetched.get(item.sli.query)
    results = []
    for fault in faults:
        if isinstance(outcome, PrometheusError):
            results.append(
                _result(item, fault.label, fault.end, NO_DATA, detail=f"query failed: {outcome}")
            )
            continue
        results.append(_one(item, fault, run.end, outcome or [], step_s))
    return results


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
            seconds = max(0.0, streak_start - fault.end)
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
                recovered_at=streak_start,
                seconds=seconds,
                detail=f"{item.sli.name} {item.op} {item.threshold:g} for {item.consecutive} "
                f"samples from {seconds:.1f}s after the fault ended "
                f"(objective: within {item.target_seconds:g}s)",
            )
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
