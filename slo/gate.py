"""The gate: evaluate a spec over a run (or a bare window) and write the verdict.

Entry points (docs/contracts.md §5)::

    evaluate_run(results_dir, *, spec=None, prometheus_url=None) -> GateResult
    evaluate_window(start, end, *, prometheus_url, spec=None, out_dir=None, ...) -> GateResult

Both write ``slo.json`` and ``junit.xml`` (into the results folder, or
``out_dir``); a run's folder also gets the evidence pack (the samples judged,
the spec as judged: :mod:`slo.evidence`) and is sealed (``manifest.json``), so
:mod:`slo.verify` can judge it again offline. A malformed spec or results folder raises
(:class:`slo.errors.InputFileError`); everything met while evaluating —
Prometheus down, a rejected query, missing data — is returned as a verdict
(``error`` or ``inconclusive``, exit code 2), never as a pass.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path

from promclient.errors import PrometheusError
from promclient.source import PrometheusSource
from runfolder.layout import JUNIT_XML, RUN_JSON, SLO_JSON
from runfolder.manifest import seal
from slo.comparison import Previous, evaluate_comparisons
from slo.errors import ResultsError
from slo.evidence import Evidence, save_evidence
from slo.hpa import applicable as hpa_applicable
from slo.hpa import evaluate_hpa, hpa_queries
from slo.integrity import evaluate_integrity
from slo.junit import write_junit
from slo.objectives import Fetched, evaluate_objective, phases_to_judge
from slo.recovery import evaluate_recovery, faults_for
from slo.result import EXIT_CODES, GateResult
from slo.run import RunInfo, read_run, window_run
from slo.spec import RUN_PHASE, Spec
from slo.validation import load_spec
from slo.verdict import Item, aborted_by, decide, run_checks

SPECS_DIR = Path(__file__).resolve().parent / "specs"
DEFAULT_SPEC = SPECS_DIR / "reference-platform.yaml"


def evaluate_run(
    results_dir: Path,
    *,
    spec: Path | str | None = None,
    prometheus_url: str | None = None,
    results_root: Path | None = None,
    write: bool = True,
) -> GateResult:
    """Judge the run in ``results_dir`` (its run.json phases and faults, its reconcile.json).

    Prometheus is ``prometheus_url``, else run.json's ``prometheus_url``, else the
    spec's DataSource URL. Writes ``slo.json`` and ``junit.xml`` into ``results_dir``.
    """
    results_dir = Path(results_dir)
    run = read_run(results_dir)
    loaded = load_spec(resolve_spec(spec))
    url = (
        prometheus_url
        or run.prometheus_url
        or (loaded.datasource.url if loaded.datasource else None)
    )
    if not url:
        raise ResultsError(
            results_dir / RUN_JSON,
            "prometheus_url",
            "no Prometheus URL: not in run.json, not in the spec, not given",
        )
    result = evaluate(loaded, run, url, results_root=results_root)
    if write:
        write_result(result, results_dir)
        save_evidence(result.evidence, results_dir)
        seal(results_dir)
    return result


def evaluate_window(
    start: float,
    end: float,
    *,
    prometheus_url: str,
    spec: Path | str | None = None,
    out_dir: Path | None = None,
    phase: str = RUN_PHASE,
    target: str | None = None,
) -> GateResult:
    """Judge a bare window as one phase named ``phase``; write the files to ``out_dir`` if given."""
    run = window_run(start, end, phase=phase, target=target, prometheus_url=prometheus_url)
    loaded = load_spec(resolve_spec(spec))
    result = evaluate(loaded, run, prometheus_url)
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        write_result(result, out_dir)
    return result


def resolve_spec(spec: Path | str | None) -> Path:
    """The spec file: ``None`` is the reference spec, a bare name (``reference-platform``)
    one of the shipped specs in ``slo/specs``, anything else a path."""
    if spec is None:
        return DEFAULT_SPEC
    path = Path(spec)
    if not path.exists() and path.parent == Path(".") and path.suffix not in (".yaml", ".yml"):
        shipped = SPECS_DIR / f"{path.name}.yaml"
        if shipped.exists():
            return shipped
    return path


def collect_queries(spec: Spec, run: RunInfo) -> list[str]:
    """Every distinct query the evaluation needs (each is asked once for the whole window)."""
    queries: list[str] = []
    for objective in spec.objectives:
        if phases_to_judge(objective, run):
            queries.extend(objective.sli.queries)
    for item in spec.recovery:
        if faults_for(item, run):
            queries.extend(item.sli.queries)
    if hpa_applicable(run):
        for check in spec.hpa:
            queries.extend(hpa_queries(check).values())
    return list(dict.fromkeys(queries))


def evaluate(
    spec: Spec,
    run: RunInfo,
    prometheus_url: str,
    *,
    results_root: Path | None = None,
    workers: int = 4,
    timeout_s: float = 15.0,
) -> GateResult:
    """Evaluate ``spec`` over ``run`` against Prometheus at ``prometheus_url``."""
    started = time.time()
    fetched, error = fetch(spec, run, prometheus_url, workers=workers, timeout_s=timeout_s)
    return judge(spec, run, fetched, error, started=started, prometheus_url=prometheus_url,
                 results_root=results_root)


def fetch(
    spec: Spec, run: RunInfo, prometheus_url: str, *, workers: int = 4, timeout_s: float = 15.0
) -> tuple[Fetched, str | None]:
    """Every query the evaluation needs, over the run's window, and what went wrong if anything
    (a failed query stays in the result as its error)."""
    error: str | None = None
    fetched: Fetched = {}
    queries = collect_queries(spec, run)
    with PrometheusSource(prometheus_url, timeout_s=timeout_s, workers=workers) as source:
        try:
            if queries:
                source.check()
                fetched = source.range_queries(queries, run.start, run.end, spec.step_s)
        except PrometheusError as exc:
            error = str(exc)
            fetched = {q: exc for q in queries}
    if error is None:
        failed = [v for v in fetched.values() if isinstance(v, PrometheusError)]
        if failed:
            error = "; ".join(dict.fromkeys(str(e) for e in failed))
    return fetched, error


def judge(
    spec: Spec,
    run: RunInfo,
    fetched: Fetched,
    error: str | None,
    *,
    started: float,
    prometheus_url: str | None,
    results_root: Path | None = None,
    previous: Previous | None = None,
) -> GateResult:
    """The verdict from already-fetched samples (live, or saved in the evidence pack).

    ``previous`` fixes the earlier run the relative criteria compare with (offline,
    from the evidence); without it the results root is searched.
    """
    objectives = [
        evaluate_objective(o, phase, run, fetched, spec.step_s, spec.coverage)
        for o in spec.objectives
        for phase in phases_to_judge(o, run)
    ]
    recovery = [
        r for item in spec.recovery for r in evaluate_recovery(item, run, fetched, spec.step_s)
    ]
    hpa = [evaluate_hpa(check, run, fetched, spec.step_s) for check in spec.hpa]
    integrity = evaluate_integrity(spec.integrity, run.results_dir)
    comparison, compared_with = evaluate_comparisons(spec, run, objectives, results_root,
                                                     previous)

    items = [Item(f"{o.name} [{o.phase}]", o.verdict, o.key, o.weight) for o in objectives]
    items += [Item(f"recovery {r.name} [{r.fault}]", r.verdict, r.key, r.weight) for r in recovery]
    items += [Item(f"hpa {h.name}", h.verdict, h.key, h.weight) for h in hpa]
    if integrity is not None:
        items.append(Item("data integrity", integrity.verdict, integrity.key, integrity.weight))
    items += [
        Item(f"{c.name} (vs previous run)", c.verdict, c.key, c.weight) for c in comparison.items
    ]
    if run.only_phase is not None and not objectives:
        items.append(Item(f"objectives [{run.only_phase}]", "no_data", False, 0.0))
    checks, broken_stage = run_checks(run)
    items += [Item(c.name, c.verdict, c.key, c.weight) for c in checks]
    incomplete = None
    if run.status is not None and run.status != "completed":
        # "interrupted", "failed", "aborted", or "running" (the runner was killed outright)
        incomplete = f"the run is {run.status}: a partial run cannot pass"
    refusal = "; ".join(p for p in (error, broken_stage) if p) or None
    aborted = aborted_by(run) if run.status != "interrupted" else None
    decision = decide(items, spec.score, refusal, incomplete, aborted)
    return GateResult(
        verdict=decision.verdict,
        exit_code=EXIT_CODES[decision.verdict],
        score=decision.score,
        spec=str(spec.path),
        evaluated_at=round(started, 3),
        prometheus_url=prometheus_url,
        window={"start": run.start, "end": run.end},
        objectives=objectives,
        recovery=recovery,
        hpa=hpa,
        integrity=integrity,
        comparison=comparison,
        run_checks=checks,
        reasons=decision.reasons,
        error=error,
        run_id=run.run_id,
        scenario=run.scenario,
        target=run.target,
        score_policy={"pass": spec.score.passing, "warning": spec.score.warning},
        evidence=Evidence(spec.path, spec.step_s, fetched, error, compared_with),
    )


def write_result(result: GateResult, folder: Path) -> GateResult:
    """Write ``slo.json`` (atomically: later runs read it) and ``junit.xml`` into ``folder``."""
    slo_path = folder / SLO_JSON
    payload = json.dumps(result.to_dict(), indent=2, allow_nan=False) + "\n"
    fd, tmp = tempfile.mkstemp(prefix=".slo-", suffix=".json", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(payload)
        os.replace(tmp, slo_path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    result.slo_path = slo_path
    result.junit_path = write_junit(result, folder / JUNIT_XML)
    return result
