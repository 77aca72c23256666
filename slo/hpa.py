"""HPA behaviour from kube-state-metrics: scale-out time, max replicas, scale-in, flapping.

On the local target there is no HPA: every check is ``not_applicable`` (never
passed). Elsewhere the series are::

    kube_horizontalpodautoscaler_status_current_replicas{namespace, horizontalpodautoscaler}
    kube_horizontalpodautoscaler_status_desired_replicas{...}
    kube_horizontalpodautoscaler_spec_max_replicas{...}

The load step is the start of the first matching fault when the check names
one (``fault: {action, target}``; no such fault: not applicable), else the
start of the check's ``loadPhase`` (the window start for a bare window).
Scale-out time is from the load step until current replicas first exceed
their count at the step. A flap is a scale-out of the desired
replica count after it had scaled in (out, in, out again).
"""

from __future__ import annotations

from promclient.errors import PrometheusError
from promclient.series import Series
from slo.result import FAIL, NO_DATA, NOT_APPLICABLE, PASS, WARNING, HPAResult
from slo.run import RunInfo
from slo.spec import HPACheck

CURRENT = "kube_horizontalpodautoscaler_status_current_replicas"
DESIRED = "kube_horizontalpodautoscaler_status_desired_replicas"
MAX = "kube_horizontalpodautoscaler_spec_max_replicas"


def hpa_queries(check: HPACheck) -> dict[str, str]:
    selector = f'{{namespace="{check.namespace}",horizontalpodautoscaler="{check.hpa}"}}'
    return {
        name: f"max({metric}{selector})"
        for name, metric in (("current", CURRENT), ("desired", DESIRED), ("max", MAX))
    }


def applicable(run: RunInfo) -> bool:
    return run.target != "local"


def evaluate_hpa(check: HPACheck, run: RunInfo, fetched: dict, step_s: float) -> HPAResult:
    result = HPAResult(
        name=check.name,
        service=check.service,
        verdict=NO_DATA,
        scale_out_seconds=None,
        max_replicas_hit=None,
        scaled_in=None,
        flaps=None,
        detail="",
        key=check.key,
        weight=check.weight,
        hpa=check.hpa,
        target_seconds=check.scale_out_within_s,
    )
    if not applicable(run):
        result.verdict = NOT_APPLICABLE
        result.detail = "local target has no HPA (replicas are fixed by the supervisor)"
        return result
    if check.fault_action is not None or check.fault_target is not None:
        fault = next(
            (
                f
                for f in run.faults
                if check.fault_action in (None, f.action) and check.fault_target in (None, f.target)
            ),
            None,
        )
        if fault is None:
            wanted = " ".join(x for x in (check.fault_action, check.fault_target) if x)
            result.verdict = NOT_APPLICABLE
            result.detail = f"no {wanted} fault in this run: no load step for this HPA"
            return result
        step_at = fault.start
    elif run.only_phase is not None:
        step_at = run.start
    else:
        phase = run.phase(check.load_phase)
        if phase is None:
            result.detail = f"phase {check.load_phase!r} (the load step) is not in this run"
            return result
        step_at = phase.start
    queries = hpa_queries(check)
    series: dict[str, Series | None] = {}
    for name, query in queries.items():
        outcome = fetched.get(query)
        if isinstance(outcome, PrometheusError):
            result.detail = f"query failed: {outcome}"
            return result
        found = [s.window(step_at, run.end) for s in outcome or []]
        series[name] = found[0] if found and found[0].values else None
    current = series["current"]
    if current is None:
        result.detail = (
            f"no {CURRENT} samples for HPA {check.namespace}/{check.hpa} after the load step "
            "(is kube-state-metrics scraped?)"
        )
        return result
    initial = current.values[0]
    peak = max(current.values)
    result.initial_replicas, result.peak_replicas = initial, peak
    out_at = next(
        (t for t, v in zip(current.times, current.values, strict=True) if v > initial), None
    )
    result.scale_out_seconds = None if out_at is None else round(out_at - step_at, 3)
    max_series = series["max"]
    if max_series is not None:
        result.max_replicas = max(max_series.values)
        result.max_replicas_hit = any(v >= m for v, m in _paired(current, max_series, step_s))
    peak_at = current.times[current.values.index(peak)]
    result.scaled_in = any(
        v < peak for t, v in zip(current.times, current.values, strict=True) if t > peak_at
    )
    desired = series["desired"] or current
    result.flaps = _flaps(desired.values)

    problems: list[str] = []
    warnings: list[str] = []
    if result.scale_out_seconds is None:
        problems.append(f"never scaled out above {initial:g} replicas after the load step")
    elif result.scale_out_seconds > check.scale_out_within_s:
        problems.append(
            f"scaled out after {result.scale_out_seconds:.1f}s "
            f"(objective: within {check.scale_out_within_s:g}s)"
        )
    if result.max_replicas_hit and check.max_replicas_hit != "ignore":
        text = f"hit maxReplicas ({result.max_replicas:g}): capacity ceiling reached"
        (problems if check.max_replicas_hit == "fail" else warnings).append(text)
    if check.scale_in and result.scale_out_seconds is not None and not result.scaled_in:
        problems.append(f"did not scale in from {peak:g} replicas before the window ended")
    if result.flaps > check.max_flaps:
        problems.append(f"{result.flaps} flap(s) of desired replicas (allowed: {check.max_flaps})")
    result.verdict = FAIL if problems else WARNING if warnings else PASS
    summary = f"replicas {initial:g} -> {peak:g}" + (
        ""
        if result.scale_out_seconds is None
        else f", scale-out after {result.scale_out_seconds:.1f}s"
    )
    result.detail = "; ".join([summary, *problems, *warnings])
    return result


def _paired(a: Series, b: Series, step_s: float) -> list[tuple[float, float]]:
    out = []
    for t, v in zip(a.times, a.values, strict=True):
        other = b.at(t, step_s / 2)
        if other is not None:
            out.append((v, other))
    return out


def _flaps(values: list[float]) -> int:
    directions: list[int] = []
    for prev, cur in zip(values, values[1:], strict=False):
        if cur != prev:
            d = 1 if cur > prev else -1
            if not directions or directions[-1] != d:
                directions.append(d)
    # a flap is scaling out again after having scaled in (leading scale-ins are a
    # previous load still settling)
    return sum(
        1 for prev, cur in zip(directions, directions[1:], strict=False) if (prev, cur) == (-1, 1)
    )
