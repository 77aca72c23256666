"""Build the resilience report of one run, or the index of many (contracts §5).

``build_report(results_dir)`` reads the results folder and writes
``RESULTS/report.html``; ``build_index(results_root)`` writes one page listing
every run under a root with its verdict and a per-scenario trend.
"""

from __future__ import annotations

import time
from pathlib import Path

from reports.charts import timeline_chart
from reports.compare import ComparisonView, compare_runs, find_previous_run
from reports.errors import ReportError
from reports.experiment import read_experiment, read_residue
from reports.integrity import read_integrity
from reports.latency_hdr import phase_latency
from reports.objectives import read_slo
from reports.panels import build_panels, fault_bands
from reports.render import render
from reports.results import ResultsFolder, folder_files, load_results
from reports.run_index import collect_runs, scenario_trends
from reports.run_info import read_run_info, read_verdict
from reports.sends import read_sends
from reports.write import write_atomic

MISSING_NOTES = {
    "run.json": "run.json is missing: scenario, phases and fault windows are unknown.",
    "slo.json": "slo.json is missing: the gate has not evaluated this run, so there is no "
                "verdict and no SLO table.",
    "reconcile.json": "reconcile.json is missing: orders were not reconciled against the database.",
    "chaos-journal.json": "chaos-journal.json is missing: no experiment timeline.",
    "residue.json": "residue.json is missing: nobody audited what the faults left behind.",
    "timeseries.json": "timeseries.json is missing: charts come from Locust's history where "
                       "it exists and say \"no data\" elsewhere.",
    "locust_stats.csv": "locust_stats.csv is missing: no request statistics per endpoint.",
    "locust_stats_history.csv": "locust_stats_history.csv is missing.",
    "locust_failures.csv": "locust_failures.csv is missing: failures are not listed.",
}


def _comparison(folder: ResultsFolder, scenario: str, started_at: float | None,
                target: str | None) -> ComparisonView | None:
    previous_dir = find_previous_run(folder.path, scenario, started_at, target)
    if previous_dir is None:
        return None
    try:
        previous = load_results(previous_dir)
        return compare_runs(folder, previous)
    except ReportError as exc:
        return ComparisonView(previous_dir, problem=f"the previous run could not be read: {exc}")


def render_report(folder: ResultsFolder, *, generated_at: float | None = None) -> str:
    """The report's HTML for a loaded results folder."""
    info = read_run_info(folder)
    experiment = read_experiment(folder)
    start = info.started_at if info.started_at is not None else (experiment.start or 0.0)
    end = info.ended_at if info.ended_at is not None else (experiment.end or start + 1)
    timeline = timeline_chart(experiment.bars(), start=start, end=end, bands=fault_bands(info))
    notes = [MISSING_NOTES.get(name, f"{name} is missing.") for name in folder.missing]
    return render(
        "report.html.j2",
        info=info,
        verdict=read_verdict(folder),
        panels=build_panels(folder, info),
        slo=read_slo(folder),
        integrity=read_integrity(folder),
        experiment=experiment,
        timeline=timeline,
        residue=read_residue(folder),
        locust=folder.locust,
        hdr=phase_latency(folder.path, info),
        sends=read_sends(folder.path),
        comparison=_comparison(folder, info.scenario, info.started_at,
                               info.target if folder.run is not None else None),
        notes=notes,
        results_dir=str(folder.path),
        files=folder_files(folder.path),
        generated_at=generated_at if generated_at is not None else time.time(),
    )


def build_report(results_dir: Path, output: Path | None = None) -> Path:
    """Write the report of the run in ``results_dir``; default ``RESULTS/report.html``."""
    results_dir = Path(results_dir)
    folder = load_results(results_dir)
    html = render_report(folder)
    return write_atomic(Path(output) if output else results_dir / "report.html", html)


def build_index(results_root: Path, output: Path | None = None) -> Path:
    """Write one page listing every run under ``results_root`` (default ``ROOT/index.html``)."""
    results_root = Path(results_root)
    target = Path(output) if output else results_root / "index.html"
    runs = collect_runs(results_root, link_base=target.parent)
    html = render(
        "index.html.j2",
        root=str(results_root),
        results_dir=str(results_root),
        runs=runs,
        trends=scenario_trends(runs),
        generated_at=time.time(),
    )
    return write_atomic(target, html)
