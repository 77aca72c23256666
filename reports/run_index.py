"""The runs under a results root, for the index page: verdicts and a trend per scenario.

A run folder is any folder (up to three levels down) holding ``run.json`` or
``slo.json``. A run whose files cannot be read is listed with the problem
rather than hiding the others.
"""

from __future__ import annotations

import os
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from markupsafe import Markup

from reports.charts import sparkline
from reports.errors import ReportError, ResultsNotFoundError
from reports.integrity import read_integrity
from reports.results import ResultsFolder, read_json, read_run_json
from reports.run_info import read_run_info, read_verdict
from runfolder.layout import MARKERS

MAX_DEPTH = 3
VERDICT_COLORS = {"pass": "#16a34a", "warning": "#ca8a04", "fail": "#dc2626", "error": "#7f1d1d",
                  "aborted": "#9333ea"}


@dataclass(frozen=True)
class RunRow:
    path: str
    run_id: str
    scenario: str
    target: str
    status: str
    started_at: float | None
    duration_s: float | None
    verdict: str
    score: float | None
    lost: int | None
    report_href: str | None
    problem: str = ""


@dataclass(frozen=True)
class Trend:
    scenario: str
    runs: int
    passed: int
    last_verdict: str
    last_score: float | None
    score_change: float | None
    spark: Markup


def _run_dirs(root: Path) -> list[Path]:
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        depth = len(Path(dirpath).relative_to(root).parts)
        if any(marker in filenames for marker in MARKERS):
            found.append(Path(dirpath))
            dirnames[:] = []  # a run folder's own subfolders (journal/, logs/) are not runs
            continue
        if depth >= MAX_DEPTH:
            dirnames[:] = []
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
    return found


def _href(report: Path, link_base: Path) -> str:
    relative = os.path.relpath(report.resolve(), link_base.resolve())
    return "/".join(quote(part) for part in Path(relative).parts)


def _row(run_dir: Path, root: Path, link_base: Path) -> RunRow:
    shown = str(run_dir.relative_to(root)) if run_dir != root else "."
    report = run_dir / "report.html"
    href = _href(report, link_base) if report.is_file() else None
    try:
        folder = ResultsFolder(path=run_dir, run=read_run_json(run_dir),
                               slo=read_json(run_dir / "slo.json"),
                               reconcile=read_json(run_dir / "reconcile.json"))
        info = read_run_info(folder)
        verdict = read_verdict(folder)
        lost = read_integrity(folder).lost
    except ReportError as exc:
        return RunRow(shown, run_dir.name, "(unreadable)", "", "", None, None, "error", None, None,
                      href, problem=str(exc))
    return RunRow(shown, info.run_id, info.scenario, info.target, info.status, info.started_at,
                  info.duration_s, verdict.verdict, verdict.score, lost, href)


def collect_runs(root: Path, link_base: Path | None = None) -> list[RunRow]:
    """Every run under ``root``, newest first."""
    root = Path(root)
    if not root.is_dir():
        raise ResultsNotFoundError(root, "no such results root folder")
    rows = [_row(d, root, link_base or root) for d in _run_dirs(root)]
    rows.sort(key=lambda r: (r.started_at is None, -(r.started_at or 0.0), r.path))
    return rows


def scenario_trends(rows: list[RunRow]) -> list[Trend]:
    by_scenario: dict[str, list[RunRow]] = defaultdict(list)
    for row in rows:
        if not row.problem:
            by_scenario[row.scenario].append(row)
    trends = []
    for scenario, runs in sorted(by_scenario.items()):
        runs = sorted(runs, key=lambda r: r.started_at or 0.0)  # oldest first, for the line
        scores = [r.score for r in runs]
        scored = [s for s in scores if s is not None]
        change = scored[-1] - scored[-2] if len(scored) >= 2 else None
        trends.append(Trend(
            scenario=scenario,
            runs=len(runs),
            passed=sum(r.verdict == "pass" for r in runs),
            last_verdict=runs[-1].verdict,
            last_score=runs[-1].score,
            score_change=change,
            spark=sparkline(scores, [VERDICT_COLORS.get(r.verdict, "#6b7280") for r in runs],
                            label=f"score trend of {scenario}"),
        ))
    return trends
