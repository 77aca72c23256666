"""Which earlier run a run is compared with: one rule for the gate and the report.

The previous run of a run is, among the folders beside it (or under a given
root), the one that started last before it, of the same scenario, on the same
target when both say (a Kubernetes run is no baseline for a local one). The
gate's relative criteria ask only for runs that passed; the report's "what
changed" takes the previous run whatever its verdict.
"""

from __future__ import annotations

import json
from pathlib import Path

from runfolder.errors import RunFolderError
from runfolder.layout import SLO_JSON
from runfolder.record import RunRecord, read_run

PASSING = ("pass", "warning")


def previous_run(
    results_dir: Path | None,
    scenario: str,
    started_at: float,
    target: str | None = None,
    *,
    root: Path | None = None,
    passing_only: bool = False,
) -> tuple[Path, RunRecord] | None:
    """The folder and record of the previous run (see the module), or None."""
    here = results_dir.resolve() if results_dir is not None else None
    root = root if root is not None else (here.parent if here is not None else None)
    if root is None or not scenario:
        return None
    try:
        candidates = [p for p in root.iterdir() if p.is_dir()]
    except OSError:
        return None
    best: tuple[float, Path, RunRecord] | None = None
    for folder in candidates:
        if here is not None and folder.resolve() == here:
            continue
        try:
            record = read_run(folder)
        except RunFolderError:
            continue  # a sibling is not this run's input: an unreadable one is skipped
        if record.scenario != scenario or record.started_at >= started_at:
            continue
        if target and record.target and record.target != target:
            continue
        if passing_only and verdict_of(folder) not in PASSING:
            continue
        if best is None or record.started_at > best[0]:
            best = (record.started_at, folder, record)
    return None if best is None else (best[1], best[2])


def verdict_of(folder: Path) -> str | None:
    """The verdict in a folder's slo.json, None when it has none (or it cannot be read)."""
    try:
        data = json.loads((folder / SLO_JSON).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    verdict = data.get("verdict") if isinstance(data, dict) else None
    return verdict if isinstance(verdict, str) else None
