"""Judge each objective in each phase of a run from already-fetched series."""

from __future__ import annotations

from promclient.errors import PrometheusError
from promclient.series import Series
from slo import counters, hdr
from slo.relative import interval, judge_relative, ratio
from slo.result import FAIL, NO_DATA, NOT_APPLICABLE, PASS, WARNING, ObjectiveResult
from slo.run import Phase, RunInfo
from slo.series import Coverage, coverage, event_sum, grid_points, process_groups, reduce
from slo.spec import (
    DEFAULT_COVERAGE,
    ROUTE_CLASS_LABEL,
    RUN_PHASE,
    Criteria,
    Objective,
    judge,
    lower_is_better,
)

Fetched = dict[str, "list[Series] | PrometheusError"]
_RANK = {PASS: 0, WARNING: 1, FAIL: 2}
# phases a scenario may leave out (a steady baseline has no fault); a missing phase
# of another name is no data, so a typo in a spec is loud, never silently skipped
STANDARD_PHASES = ("warmup", "baseline", "fault", "recovery")
# phases that take the counter intervals across their bounds (slo/counters.py)
REACHING_PHASES = ("fault", RUN_PHASE)


def display_query(objective: Objective) -> str:
    sli = objective.sli
    if sli.kind == "ratio":
        part = sli.good if sli.good else f"{sli.total} - {sli.bad}"
        return f"({part}) / ({sli.total})"
    return sli.query or ""


def phases_to_judge(objective: Objective, run: RunInfo) -> list[str]:
    if run.only_phase is not None:
        return [run.only_phase] if run.only_phase in objective.phases else []
    return list(objective.phases)


def evaluate_objective(
    objective: Objective,
    phase_name: str,
    run: RunInfo,
    fetched: Fetched,
    step_s: float,
    needed: float = DEFAULT_COVERAGE,
) -> ObjectiveResult:
    """Judge ``objective`` in one phase; ``needed`` is the spec's coverage rule (the
    objective's own ``coverage`` wins): with fewer of the phase's expected samples the
    phase is inconclusive, whatever the samples left say."""
    criteria = objective.phases[phase_name]
    result = _blank(objective, phase_name, criteria)
    phase = run.phase(phase_name)
    if phase is None:
        known = ", ".join(p.name for p in run.phases) or "none"
        if run.status == "completed" and phase_name in STANDARD_PHASES:
            # the scenario has no such phase (e.g. a steady baseline without a fault)
            result.verdict = NOT_APPLICABLE
            result.detail = f"this scenario has no {phase_name!r} phase (its phases: {known})"
        else:  # never reached, a phase name no scenario uses (a typo?), or unknown: no evidence
            result.detail = f"phase {phase_name!r} is not in this run (its phases: {known})"
        return result
    sent = run.route_classes
    if objective.route_class is not None and sent is not None and (
            objective.route_class not in sent):
        # like a phase the scenario does not have: the load never sent this class
        result.verdict = NOT_APPLICABLE
        result.detail = (f"this run's load sends no {objective.route_class!r} requests "
                         f"(it sends {', '.join(map(repr, sent)) or 'none'})")
        return result
    if objective.coverage is not None:
        needed = objective.coverage
    log = hdr.log_of(run.results_dir) if objective.sli.hdr and not objective.relative_to else None
    if log is not None:
        return hdr.judge_phase(objective, criteria, result, phase, log, needed)
    for query in objective.sli.queries:
        outcome = fetched.get(query)
        if isinstance(outcome, PrometheusError):
            result.detail = f"query failed: {outcome}"
            return result
    # phases are half-open [start, end): a boundary sample belongs to the next phase,
    # except at the very end of the run
    include_end = phase.end >= run.end
    grid = grid_points(run.start, step_s, phase.start, phase.end, include_end)
    covered = _coverage(objective, fetched, grid, step_s)
    result.coverage = round(covered.share, 4)
    result.longest_hole_s = covered.longest_hole_s
    if covered.found and covered.share < needed:
        result.detail = (
            f"samples cover {covered.share:.0%} of the {phase_name} phase ({covered.found} of "
            f"{covered.expected} expected); the longest hole is {covered.longest_hole_s:g} s "
            f"from {covered.hole_start:.3f}; the objective needs {needed:.0%}, so the samples "
            "left cannot vouch for the phase"
        )
        return result
    if objective.relative_to is not None:
        return _judge_relative(objective, criteria, result, run, fetched, phase, step_s,
                               needed)
    values = _phase_values(objective, fetched, phase.start, phase.end, include_end, step_s,
                           run.start, reaching=phase_name in REACHING_PHASES)
    of_class = (f" for route class {objective.route_class!r}"
                if objective.route_class is not None else "")
    if not values and covered.found:
        result.detail = (
            f"no traffic{of_class} in the {phase_name} phase: the samples of "
            f"{objective.sli.name!r} are there but count no requests (0/0), nothing to judge"
        )
        return result
    if not values:
        result.detail = (
            f"no samples of {objective.sli.name!r}{of_class} between {phase.start:.3f} "
            f"and {phase.end:.3f}"
        )
        return result
    judged = [
        (judge(v, objective.op, criteria.target, criteria.warning), v, s, n) for s, v, n in values
    ]
    worse = max if lower_is_better(objective.op) else min
    worst_rank = max(_RANK[j[0]] for j in judged)
    candidates = [j for j in judged if _RANK[j[0]] == worst_rank]
    verdict, value, series, samples = next(
        j for j in candidates if j[1] == worse(c[1] for c in candidates)
    )
    result.verdict = verdict
    result.value = value
    result.samples = samples
    result.detail = _describe(objective, criteria, verdict, value, samples)
    if len(values) > 1:
        result.series = dict(series.key)
        result.detail += f"; worst of {len(values)} series: {series.label_text()}"
    return result


def _judge_relative(
    objective: Objective,
    criteria: Criteria,
    result: ObjectiveResult,
    run: RunInfo,
    fetched: Fetched,
    phase: Phase,
    step_s: float,
    needed: float,
) -> ObjectiveResult:
    """This phase's reduced samples over the reference phase's, with a bootstrap interval
    (slo/relative.py); the reference phase must meet the coverage rule too."""
    reference_name = objective.relative_to
    assert reference_name is not None and objective.sli.query is not None
    result.relative_to = reference_name
    reference = run.phase(reference_name)
    if reference is None:
        result.detail = f"the reference phase {reference_name!r} is not in this run"
        return result
    ref_end = reference.end >= run.end
    ref_grid = grid_points(run.start, step_s, reference.start, reference.end, ref_end)
    ref_cover = _coverage(objective, fetched, ref_grid, step_s)
    if ref_cover.share < needed:
        result.detail = (f"the reference phase {reference_name} has {ref_cover.share:.0%} of "
                         f"its expected samples (needs {needed:.0%}): nothing to compare with")
        return result
    judged = []
    for series in _series(fetched, objective.sli.query, objective.route_class):
        here = series.window(phase.start, phase.end, phase.end >= run.end).values
        there = series.window(reference.start, reference.end, ref_end).values
        if not here or not there:
            continue
        value = ratio(here, there, objective.aggregate)
        seed = f"{objective.name}|{phase.name}|{series.label_text()}"
        bounds = interval(here, there, objective.aggregate, seed) if value is not None else None
        if value is None or bounds is None:
            continue  # a reference of 0 cannot be compared with
        verdict = judge_relative(value, bounds, objective.op, criteria)
        judged.append((_RANK[verdict], verdict, value, bounds, series, len(here),
                       reduce(there, objective.aggregate)))
    if not judged:
        result.detail = (f"no series of {objective.sli.name!r} has samples in both "
                         f"{phase.name} and {reference_name} (or the reference is 0)")
        return result
    worse = max if lower_is_better(objective.op) else min
    top = max(j[0] for j in judged)
    candidates = [j for j in judged if j[0] == top]
    _, verdict, value, bounds, series, samples, reference_value = next(
        j for j in candidates if j[2] == worse(c[2] for c in candidates))
    result.verdict, result.value, result.samples = verdict, value, samples
    result.reference_value = reference_value
    result.interval = [round(bounds[0], 6), round(bounds[1], 6)]
    limits = criteria.describe(objective.op, "x")
    result.detail = (
        f"{objective.aggregate} in {phase.name} is {value:.3g}x the {reference_name}'s "
        f"({reference_value:.4g}{objective.sli.unit and ' ' + objective.sli.unit}); 95% "
        f"interval {bounds[0]:.3g}x to {bounds[1]:.3g}x over {samples} samples; objective "
        f"{limits}: {verdict}"
    )
    if len(judged) > 1:
        result.series = dict(series.key)
    return result


def _blank(objective: Objective, phase: str, criteria: Criteria) -> ObjectiveResult:
    return ObjectiveResult(
        name=objective.name,
        description=objective.description,
        phase=phase,
        side=objective.side,
        query=display_query(objective),
        value=None,
        unit=objective.unit,
        op=objective.op,
        target=criteria.target,
        warning=criteria.warning,
        verdict=NO_DATA,
        key=objective.key,
        weight=objective.weight,
        aggregate=objective.aggregate,
        sli=objective.sli.name,
        route_class=objective.route_class,
    )


def _coverage(
    objective: Objective, fetched: Fetched, grid: list[float], step_s: float
) -> Coverage:
    """The worst coverage of the objective's series (grouped without process labels).

    Counters are covered when any of their processes was scraped: a counter keeps counting
    between scrapes, so the phase's increments stay exact across a missed scrape (a process
    that dies takes at most its last scrape interval's events with it), and a service whose
    every process was down (the fault's doing) served no requests to miss."""
    sli = objective.sli
    queries = [sli.query] if sli.kind == "threshold" else [sli.total, sli.good or sli.bad]
    worst: Coverage | None = None
    for query in queries:
        assert query is not None
        found = _series(fetched, query, objective.route_class)
        if not found and query != queries[0]:
            continue  # an absent good/bad series is judged below, not a hole
        groups = ([found] if sli.counter else list(process_groups(found).values())) or [[]]
        for group in groups:
            c = coverage(group, grid, step_s)
            if worst is None or c.share < worst.share:
                worst = c
    assert worst is not None
    return worst


def _phase_values(
    objective: Objective,
    fetched: Fetched,
    start: float,
    end: float,
    include_end: bool,
    step_s: float,
    data_start: float,
    reaching: bool = False,
) -> list[tuple[Series, float, int]]:
    """(series, reduced value, sample count) for every series with samples in the window."""
    sli = objective.sli
    out: list[tuple[Series, float, int]] = []
    route_class = objective.route_class
    if sli.kind == "threshold":
        assert sli.query is not None
        for series in _series(fetched, sli.query, route_class):
            window = series.window(start, end, include_end)
            if window.values:
                value = reduce(
                    window.values,
                    objective.aggregate,
                    objective.sample_op,
                    objective.sample_threshold,
                )
                out.append((series, value, len(window.values)))
        return out
    assert sli.total is not None
    part_query = sli.good or sli.bad
    assert part_query is not None
    if sli.counter:
        return _counter_ratios(objective, fetched, start, end, data_start, step_s, reaching)
    totals = _series(fetched, sli.total, route_class)
    parts = _series(fetched, part_query, route_class)
    by_key = {s.key: s for s in parts}
    for total in totals:
        part = by_key.get(total.key)
        if part is None and len(parts) == 1 and len(totals) == 1:
            part = parts[0]  # label sets differ only by aggregation: one series each
        total_w = total.window(start, end, include_end)
        events = event_sum(total_w, sli.counter)
        if not total_w.values or events <= 0:
            continue  # no events: no data for this series
        part_w = part.window(start, end, include_end) if part is not None else None
        if part_w is None or not part_w.values:
            continue  # absence of the good/bad series is not evidence (use `or vector(0)` if it is)
        part_events = event_sum(part_w, sli.counter)
        ratio = part_events / events
        value = ratio if sli.good else 1.0 - ratio
        out.append((total, min(1.0, max(0.0, value)), len(total_w.values)))
    return out


def _counter_ratios(
    objective: Objective,
    fetched: Fetched,
    start: float,
    end: float,
    data_start: float,
    step_s: float,
    reaching: bool,
) -> list[tuple[Series, float, int]]:
    """Ratios of the events counted inside the phase, one per series group (e.g. per
    service), each process's counter taken on its own and placed by its scrape times
    (slo/counters.py): only the phase's own events count; the fault phase and the whole
    run (``reaching``) also take the scrape intervals across their bounds."""
    sli = objective.sli
    assert sli.total is not None
    part_query = sli.good or sli.bad
    assert part_query is not None
    groups = counters.grouped(
        _series(fetched, sli.total, objective.route_class),
        _series(fetched, part_query, objective.route_class),
        _series(fetched, sli.scraped_at, objective.route_class) if sli.scraped_at else [],
        step_s, data_start)
    out: list[tuple[Series, float, int]] = []
    for key, found in groups.items():
        counted = counters.count_between(found, start, end, reaching=reaching)
        if counted is None or counted[0] <= 0:
            continue  # no events in the phase: nothing to judge for this group
        events, part_events = counted
        if part_events is None:
            continue  # absence of the good/bad series is not evidence (use `or ... * 0`)
        ratio_ = part_events / events
        value = ratio_ if sli.good else 1.0 - ratio_
        samples = sum(1 for i in found if i.end >= start and i.start < end)
        out.append((Series(dict(key)), min(1.0, max(0.0, value)), samples))
    return out


def _series(fetched: Fetched, query: str, route_class: str | None = None) -> list[Series]:
    """The series of ``query``; with a route class, only those labelled with it."""
    outcome = fetched.get(query)
    if not isinstance(outcome, list):
        return []
    if route_class is None:
        return outcome
    return [s for s in outcome if s.labels.get(ROUTE_CLASS_LABEL) == route_class]


def _describe(
    objective: Objective, criteria: Criteria, verdict: str, value: float, samples: int
) -> str:
    what = objective.aggregate
    if what == "compliance":
        what = f"share of samples with value {objective.sample_op} {objective.sample_threshold:g}"
    limits = criteria.describe(objective.op)
    return (
        f"{what} = {value:.6g}{objective.unit and ' ' + objective.unit} over {samples} samples; "
        f"objective {limits}: {verdict}"
    )
