"""The tradestorm ``ResilienceSpec`` (apiVersion ``tradestorm.dev/v1``): objectives per
phase, recovery, HPA checks, integrity, relative criteria and the score policy.
Checked strictly: an unknown field is an error, so a typo never weakens a gate."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from slo.fields import Doc, join, type_name
from slo.spec import (
    DEFAULT_COVERAGE,
    PHASES,
    RATIO_AGGREGATES,
    ROUTE_CLASSES,
    RUN_PHASE,
    SIDES,
    SLI,
    SLO,
    THRESHOLD_AGGREGATES,
    Comparison,
    Criteria,
    DataSource,
    HPACheck,
    Integrity,
    Objective,
    Recovery,
    ScorePolicy,
    Spec,
    lower_is_better,
)

TRADESTORM_API = "tradestorm.dev/v1"
RESILIENCE_KIND = "ResilienceSpec"

_OBJECTIVE_FIELDS = (
    "name",
    "description",
    "sli",
    "slo",
    "side",
    "unit",
    "aggregate",
    "op",
    "target",
    "warning",
    "threshold",
    "thresholdOp",
    "phases",
    "key",
    "weight",
    "routeClass",
    "coverage",
    "relativeTo",
)
_CRITERIA_FIELDS = ("target", "warning")
_RECOVERY_FIELDS = (
    "name",
    "description",
    "sli",
    "op",
    "threshold",
    "consecutive",
    "within",
    "warningAfter",
    "fault",
    "key",
    "weight",
)
_HPA_FIELDS = (
    "name",
    "description",
    "service",
    "hpa",
    "namespace",
    "loadPhase",
    "scaleOutWithin",
    "maxReplicasHit",
    "scaleIn",
    "maxFlaps",
    "fault",
    "key",
    "weight",
)
_COMPARISON_FIELDS = ("name", "objective", "phase", "maxWorsePct", "warningPct", "key", "weight")


def resilience_document(
    doc: Doc,
    top: dict[str, Any],
    path: Path,
    datasources: dict[str, DataSource],
    slis: dict[str, SLI],
    slos: dict[str, SLO],
) -> Spec:
    doc.only(top, "", ("apiVersion", "kind", "metadata", "spec"))
    name = top["metadata"]["name"]
    spec = doc.mapping(doc.required(top, "", "spec"), "spec")
    doc.only(
        spec,
        "spec",
        ("dataSource", "step", "score", "coverage", "objectives", "recovery", "hpa",
         "integrity", "comparison"),
    )
    ds_name = doc.string(spec, "spec", "dataSource")
    if ds_name is not None and ds_name not in datasources:
        raise doc.error("spec.dataSource", f"unknown DataSource {ds_name!r}")
    datasource = datasources.get(ds_name) if ds_name else (next(iter(datasources.values()), None))
    step = doc.duration(spec, "spec", "step", default=1.0)
    assert step is not None
    if step <= 0:
        raise doc.error("spec.step", "must be > 0")

    score = ScorePolicy()
    if spec.get("score") is not None:
        s = doc.mapping(spec["score"], "spec.score")
        doc.only(s, "spec.score", ("pass", "warning"))
        passing = doc.number(s, "spec.score", "pass", default=90.0, minimum=0, maximum=100)
        warning = doc.number(
            s, "spec.score", "warning", default=min(75.0, passing or 0), minimum=0, maximum=100
        )
        assert passing is not None and warning is not None
        if warning > passing:
            raise doc.error(
                "spec.score.warning", f"must be <= score.pass ({passing:g}), got {warning:g}"
            )
        score = ScorePolicy(passing=passing, warning=warning)

    coverage = doc.percent(spec, "spec", "coverage", default=DEFAULT_COVERAGE)
    assert coverage is not None

    objectives: list[Objective] = []
    for i, raw in enumerate(doc.sequence(spec, "spec", "objectives")):
        objective = _objective(doc, raw, f"spec.objectives[{i}]", slis, slos)
        if any(o.name == objective.name for o in objectives):
            raise doc.error(
                f"spec.objectives[{i}].name", f"duplicate objective name {objective.name!r}"
            )
        objectives.append(objective)

    recovery: list[Recovery] = []
    for i, raw in enumerate(doc.sequence(spec, "spec", "recovery")):
        item = _recovery(doc, raw, f"spec.recovery[{i}]", slis)
        if any(r.name == item.name for r in recovery):
            raise doc.error(f"spec.recovery[{i}].name", f"duplicate recovery name {item.name!r}")
        recovery.append(item)

    hpa: list[HPACheck] = []
    for i, raw in enumerate(doc.sequence(spec, "spec", "hpa")):
        check = _hpa(doc, raw, f"spec.hpa[{i}]")
        if any(h.name == check.name for h in hpa):
            raise doc.error(f"spec.hpa[{i}].name", f"duplicate hpa name {check.name!r}")
        hpa.append(check)

    integrity = Integrity()
    raw_integrity = spec.get("integrity")
    if raw_integrity is False:
        integrity = Integrity(enabled=False)
    elif raw_integrity is not None and raw_integrity is not True:
        m = doc.mapping(raw_integrity, "spec.integrity")
        doc.only(m, "spec.integrity", ("key", "weight"))
        integrity = Integrity(
            enabled=True,
            key=doc.boolean(m, "spec.integrity", "key", True),
            weight=doc.number(m, "spec.integrity", "weight", default=3.0, minimum=0) or 0.0,
        )

    comparisons: list[Comparison] = []
    comparison_root: Path | None = None
    if spec.get("comparison") is not None:
        c = doc.mapping(spec["comparison"], "spec.comparison")
        doc.only(c, "spec.comparison", ("resultsRoot", "criteria"))
        root = doc.string(c, "spec.comparison", "resultsRoot")
        if root is not None:
            comparison_root = Path(root)
        for i, raw in enumerate(doc.sequence(c, "spec.comparison", "criteria")):
            item = _comparison(doc, raw, f"spec.comparison.criteria[{i}]", objectives)
            if any(x.name == item.name for x in comparisons):
                raise doc.error(
                    f"spec.comparison.criteria[{i}].name", f"duplicate name {item.name!r}"
                )
            comparisons.append(item)

    if not (objectives or recovery or hpa or comparisons or integrity.enabled):
        raise doc.error("spec.objectives", "the spec judges nothing: add objectives")
    return Spec(
        path=path,
        name=name,
        datasource=datasource,
        step_s=step,
        objectives=tuple(objectives),
        recovery=tuple(recovery),
        hpa=tuple(hpa),
        integrity=integrity,
        comparisons=tuple(comparisons),
        comparison_root=comparison_root,
        score=score,
        coverage=coverage,
        slis=slis,
        slos=slos,
    )


def _sli_ref(doc: Doc, m: dict[str, Any], path: str, slis: dict[str, SLI]) -> SLI:
    ref = doc.string(m, path, "sli", required=True)
    if ref not in slis:
        known = ", ".join(sorted(slis)) or "none defined"
        raise doc.error(join(path, "sli"), f"unknown SLI {ref!r} (known: {known})")
    return slis[ref]


def _weight_key(doc: Doc, m: dict[str, Any], path: str) -> tuple[bool, float]:
    key = doc.boolean(m, path, "key", False)
    weight = doc.number(m, path, "weight", default=1.0, minimum=0)
    assert weight is not None
    return key, weight


def _check_warning(doc: Doc, path: str, op: str, target: float, warning: float | None) -> None:
    if warning is None:
        return
    stricter = warning <= target if lower_is_better(op) else warning >= target
    if not stricter:
        word = "<=" if lower_is_better(op) else ">="
        raise doc.error(
            join(path, "warning"),
            f"with op {op!r} the warning threshold must be {word} the target "
            f"({target:g}), got {warning:g}",
        )


def _objective(
    doc: Doc, raw: Any, path: str, slis: dict[str, SLI], slos: dict[str, SLO]
) -> Objective:
    m = doc.mapping(raw, path)
    doc.only(m, path, _OBJECTIVE_FIELDS)
    name = doc.name(m, path)
    route_class = doc.choice(m, path, "routeClass", ROUTE_CLASSES)
    if route_class is not None:
        name = f"{name}[{route_class}]"  # one objective per class: client-latency-p99[reads]
    has_sli, has_slo = m.get("sli") is not None, m.get("slo") is not None
    if has_sli == has_slo:
        raise doc.error(path, "expected exactly one of sli, slo")
    slo_name = None
    default_target: float | None = None
    sample_op = sample_threshold = None
    if has_slo:
        slo_name = doc.string(m, path, "slo", required=True)
        if slo_name not in slos:
            known = ", ".join(sorted(slos)) or "none defined"
            raise doc.error(join(path, "slo"), f"unknown SLO {slo_name!r} (known: {known})")
        slo = slos[slo_name]
        sli = slo.sli
        aggregate = "ratio" if sli.kind == "ratio" else "compliance"
        if m.get("aggregate") not in (None, aggregate):
            raise doc.error(
                join(path, "aggregate"),
                f"an objective from an OpenSLO SLO is judged by {aggregate!r}",
            )
        op = doc.op(m, path, default=">=")
        default_target = slo.target
        sample_op, sample_threshold = slo.op, slo.value
        description = doc.string(m, path, "description", default=slo.description) or ""
    else:
        sli = _sli_ref(doc, m, path, slis)
        choices = RATIO_AGGREGATES if sli.kind == "ratio" else THRESHOLD_AGGREGATES
        aggregate = (
            doc.choice(
                m, path, "aggregate", choices, default="ratio" if sli.kind == "ratio" else None
            )
            or ""
        )
        if not aggregate:
            raise doc.error(
                join(path, "aggregate"),
                f"required field is missing; expected one of {', '.join(choices)}",
            )
        op = doc.op(m, path)
        description = doc.string(m, path, "description", default=sli.description) or ""
        if aggregate == "compliance":
            sample_op = doc.op(m, path, "thresholdOp")
            sample_threshold = doc.number(m, path, "threshold", required=True)
    assert op is not None
    if aggregate in ("compliance", "ratio"):
        for k in ("target", "warning"):
            doc.number(m, path, k, minimum=0, maximum=1)
    target = doc.number(m, path, "target", default=default_target)
    warning = doc.number(m, path, "warning")
    side = doc.choice(m, path, "side", SIDES, default=sli.side)
    unit = (
        doc.string(m, path, "unit", default="ratio" if aggregate == "compliance" else sli.unit)
        or ""
    )
    key, weight = _weight_key(doc, m, path)
    coverage = doc.percent(m, path, "coverage")
    relative_to = doc.choice(m, path, "relativeTo", tuple(p for p in PHASES if p != RUN_PHASE))
    if relative_to is not None:
        if sli.kind != "threshold" or aggregate == "compliance":
            raise doc.error(join(path, "relativeTo"), "a relative objective compares the "
                            "samples of a threshold SLI (e.g. p99 latency, throughput) reduced "
                            f"by mean, max, min or a percentile; {sli.name!r} with "
                            f"aggregate {aggregate!r} is not one")
        unit = "×"

    phases: dict[str, Criteria] = {}
    raw_phases = doc.required(m, path, "phases")
    ppath = join(path, "phases")
    if isinstance(raw_phases, list):
        entries: list[tuple[str, Any]] = []
        for i, phase in enumerate(raw_phases):
            if not isinstance(phase, str) or not phase:
                raise doc.error(f"{ppath}[{i}]", f"expected a phase name, got {type_name(phase)}")
            entries.append((phase, None))
    elif isinstance(raw_phases, dict):
        entries = list(raw_phases.items())
    else:
        raise doc.error(
            ppath,
            f"expected a list of phase names or a mapping phase -> criteria, "
            f"got {type_name(raw_phases)}",
        )
    if not entries:
        raise doc.error(ppath, "expected at least one phase")
    for phase, criteria in entries:
        cpath = join(ppath, str(phase))
        if phase not in PHASES:
            raise doc.error(cpath, f"unknown phase {phase!r} (phases: {', '.join(PHASES)})")
        if phase in phases:
            raise doc.error(cpath, "phase listed twice")
        if relative_to is not None and phase == relative_to:
            raise doc.error(cpath, f"a phase cannot be judged relative to itself (relativeTo: "
                            f"{relative_to})")
        c = doc.mapping(criteria, cpath) if criteria is not None else {}
        doc.only(c, cpath, _CRITERIA_FIELDS)
        bounds = (0.0, 1.0) if aggregate in ("compliance", "ratio") else (None, None)
        phase_target = doc.number(
            c, cpath, "target", default=target, minimum=bounds[0], maximum=bounds[1]
        )
        phase_warning = doc.number(
            c,
            cpath,
            "warning",
            default=warning if "target" not in c else None,
            minimum=bounds[0],
            maximum=bounds[1],
        )
        if phase_target is None:
            raise doc.error(
                join(cpath, "target"),
                "required field is missing (give it here or at the objective level)",
            )
        _check_warning(
            doc, cpath if "warning" in c or "target" in c else path, op, phase_target, phase_warning
        )
        phases[str(phase)] = Criteria(target=phase_target, warning=phase_warning)
    return Objective(
        name=name,
        sli=sli,
        aggregate=aggregate,
        op=op,
        phases=phases,
        description=description,
        key=key,
        weight=weight,
        side=side,
        unit=unit,
        sample_op=sample_op,
        sample_threshold=sample_threshold,
        slo=slo_name,
        route_class=route_class,
        coverage=coverage,
        relative_to=relative_to,
    )


def _recovery(doc: Doc, raw: Any, path: str, slis: dict[str, SLI]) -> Recovery:
    m = doc.mapping(raw, path)
    doc.only(m, path, _RECOVERY_FIELDS)
    name = doc.name(m, path)
    sli = _sli_ref(doc, m, path, slis)
    if sli.kind != "threshold" and not sli.counter:
        raise doc.error(
            join(path, "sli"),
            f"recovery needs a threshold SLI or a ratio SLI over counters (counter: true, "
            f"judged on per-scrape increments); {sli.name!r} is a ratio SLI over rates",
        )
    op = doc.op(m, path)
    threshold = doc.number(m, path, "threshold", required=True)
    within = doc.duration(m, path, "within", required=True)
    warning_after = doc.duration(m, path, "warningAfter")
    assert op is not None and threshold is not None and within is not None
    if warning_after is not None and warning_after > within:
        raise doc.error(join(path, "warningAfter"), f"must be <= within ({within:g}s)")
    consecutive = doc.integer(m, path, "consecutive", default=3, minimum=1)
    action, target = _fault_filter(doc, m, path)
    key, weight = _weight_key(doc, m, path)
    return Recovery(
        name=name,
        sli=sli,
        op=op,
        threshold=threshold,
        target_seconds=within,
        warning_seconds=warning_after,
        consecutive=consecutive,
        fault_action=action,
        fault_target=target,
        description=doc.string(m, path, "description", default="") or "",
        key=key,
        weight=weight,
    )


def _fault_filter(doc: Doc, m: dict[str, Any], path: str) -> tuple[str | None, str | None]:
    """``fault: {action, target}``: which run.json faults an item applies to."""
    if m.get("fault") is None:
        return None, None
    fpath = join(path, "fault")
    f = doc.mapping(m["fault"], fpath)
    doc.only(f, fpath, ("action", "target"))
    action, target = doc.string(f, fpath, "action"), doc.string(f, fpath, "target")
    if action is None and target is None:
        raise doc.error(fpath, "give action, target or both")
    return action, target


def _hpa(doc: Doc, raw: Any, path: str) -> HPACheck:
    m = doc.mapping(raw, path)
    doc.only(m, path, _HPA_FIELDS)
    name = doc.name(m, path)
    service = doc.string(m, path, "service", required=True)
    assert service is not None
    key, weight = _weight_key(doc, m, path)
    action, target = _fault_filter(doc, m, path)
    return HPACheck(
        fault_action=action,
        fault_target=target,
        name=name,
        service=service,
        hpa=doc.string(m, path, "hpa", default=service) or service,
        namespace=doc.string(m, path, "namespace", default="tradestorm") or "tradestorm",
        load_phase=doc.string(m, path, "loadPhase", default="fault") or "fault",
        scale_out_within_s=doc.duration(m, path, "scaleOutWithin", default=120.0) or 0.0,
        max_replicas_hit=doc.choice(
            m, path, "maxReplicasHit", ("fail", "warn", "ignore"), default="warn"
        )
        or "warn",
        scale_in=doc.boolean(m, path, "scaleIn", True),
        max_flaps=doc.integer(m, path, "maxFlaps", default=0, minimum=0),
        description=doc.string(m, path, "description", default="") or "",
        key=key,
        weight=weight,
    )


def _comparison(doc: Doc, raw: Any, path: str, objectives: list[Objective]) -> Comparison:
    m = doc.mapping(raw, path)
    doc.only(m, path, _COMPARISON_FIELDS)
    objective_name = doc.string(m, path, "objective", required=True)
    objective = next((o for o in objectives if o.name == objective_name), None)
    if objective is None and not objectives:
        raise doc.error("spec.objectives", f"missing: {path} compares objective "
                        f"{objective_name!r}, and the spec has no objectives")
    if objective is None:
        raise doc.error(join(path, "objective"), f"unknown objective {objective_name!r}")
    phase = doc.string(m, path, "phase", default=next(iter(objective.phases)))
    assert phase is not None
    if phase not in objective.phases:
        raise doc.error(
            join(path, "phase"),
            f"objective {objective_name!r} is not judged in phase "
            f"{phase!r} (its phases: {', '.join(objective.phases)})",
        )
    max_worse = doc.number(m, path, "maxWorsePct", required=True, minimum=0)
    warning = doc.number(m, path, "warningPct", minimum=0)
    assert max_worse is not None
    if warning is not None and warning > max_worse:
        raise doc.error(
            join(path, "warningPct"), f"must be <= maxWorsePct ({max_worse:g}), got {warning:g}"
        )
    key, weight = _weight_key(doc, m, path)
    name = doc.string(m, path, "name", default=f"{objective_name}-{phase}-vs-previous") or ""
    return Comparison(
        name=name,
        objective=str(objective_name),
        phase=phase,
        max_worse_pct=max_worse,
        warning_pct=warning,
        key=key,
        weight=weight,
    )
