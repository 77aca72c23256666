"""Relative criteria: compare with the last passing run of the same scenario.

Earlier runs live side by side in a results root (by default the parent of
the run's results folder); :mod:`runfolder.history` picks the one that started
last before this run, of the same scenario and target, whose ``slo.json``
verdict is ``pass`` or ``warning``. No reference run means the criterion is not
applicable (never passed).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runfolder.history import previous_run
from runfolder.layout import SLO_JSON
from slo.result import (
    FAIL,
    NO_DATA,
    NOT_APPLICABLE,
    PASS,
    WARNING,
    ComparisonItem,
    ComparisonResult,
    ObjectiveResult,
)
from slo.run import RunInfo
from slo.spec import Comparison, Spec, lower_is_better


@dataclass(frozen=True)
class Previous:
    """The earlier run relative criteria compared with: its folder and its slo.json."""

    folder: str | None
    slo: dict[str, Any] | None


def find_previous_run(root: Path, run: RunInfo) -> tuple[Path, dict[str, Any]] | None:
    """The folder and slo.json of the last passing run of ``run.scenario`` under ``root``
    (the one rule of :mod:`runfolder.history`)."""
    if run.scenario is None:
        return None
    found = previous_run(run.results_dir, run.scenario, run.start, run.target, root=root,
                         passing_only=True)
    if found is None:
        return None
    slo = _load(found[0] / SLO_JSON)
    return None if slo is None else (found[0], slo)


def evaluate_comparisons(
    spec: Spec,
    run: RunInfo,
    objectives: list[ObjectiveResult],
    root: Path | None,
    known: Previous | None = None,
) -> tuple[ComparisonResult, Previous | None]:
    """The relative criteria, and the earlier run they compared with (kept as evidence).

    ``known`` is that earlier run as saved in an evidence pack (``Previous(None, None)``:
    none was found then); without it, the results root is searched."""
    if not spec.comparisons:
        return ComparisonResult(previous_run=None, detail="no relative criteria in the spec"), None
    if run.results_dir is None or run.scenario is None:
        return ComparisonResult(
            None,
            [
                _item(c, NOT_APPLICABLE, detail="a bare window has no scenario to compare with")
                for c in spec.comparisons
            ],
            detail="not a run",
        ), None
    if known is not None:
        found = (known.folder, known.slo) if known.folder and known.slo is not None else None
        where = "when the run was judged"
    else:
        root = root or spec.comparison_root or run.results_dir.parent
        located = find_previous_run(root, run)
        found = (str(located[0]), located[1]) if located else None
        where = f"in {root}"
    if found is None:
        text = f"no earlier passing run of scenario {run.scenario!r} {where}"
        return ComparisonResult(
            None, [_item(c, NOT_APPLICABLE, detail=text) for c in spec.comparisons], detail=text
        ), Previous(None, None)
    folder, previous = found
    items = [_compare(spec, c, objectives, previous) for c in spec.comparisons]
    return ComparisonResult(previous_run=folder, items=items), Previous(folder, previous)


def _compare(
    spec: Spec, c: Comparison, objectives: list[ObjectiveResult], previous: dict[str, Any]
) -> ComparisonItem:
    current = next((o for o in objectives if o.name == c.objective and o.phase == c.phase), None)
    old = next(
        (
            o
            for o in previous.get("objectives", [])
            if isinstance(o, dict) and o.get("name") == c.objective and o.get("phase") == c.phase
        ),
        None,
    )
    if current is None or current.value is None:
        return _item(c, NO_DATA, detail=f"{c.objective} [{c.phase}] has no value in this run")
    old_value = old.get("value") if old else None
    if not isinstance(old_value, int | float) or isinstance(old_value, bool):
        return _item(
            c,
            NOT_APPLICABLE,
            current=current.value,
            detail=f"the reference run has no value for {c.objective} [{c.phase}]",
        )
    objective = spec.objective(c.objective)
    assert objective is not None
    sign = 1.0 if lower_is_better(objective.op) else -1.0
    delta = current.value - old_value
    if old_value == 0:
        change = None if delta else 0.0
        worse_pct = float("inf") if sign * delta > 0 else 0.0
    else:
        change = delta / abs(old_value) * 100
        worse_pct = sign * change
    if worse_pct > c.max_worse_pct:
        verdict = FAIL
    elif c.warning_pct is not None and worse_pct > c.warning_pct:
        verdict = WARNING
    else:
        verdict = PASS
    direction = "worse" if worse_pct > 0 else "better or equal"
    shown = "from zero" if change is None else f"{abs(change):.1f}%"
    detail = (
        f"{c.objective} [{c.phase}] {old_value:.6g} -> {current.value:.6g} ({shown} {direction}); "
        f"allowed: {c.max_worse_pct:g}% worse"
    )
    return _item(
        c,
        verdict,
        previous=float(old_value),
        current=current.value,
        change=None if change is None else round(change, 3),
        detail=detail,
    )


def _item(
    c: Comparison,
    verdict: str,
    *,
    previous: float | None = None,
    current: float | None = None,
    change: float | None = None,
    detail: str = "",
) -> ComparisonItem:
    return ComparisonItem(
        name=c.name,
        objective=c.objective,
        phase=c.phase,
        previous=previous,
        current=current,
        change_pct=change,
        verdict=verdict,
        max_worse_pct=c.max_worse_pct,
        key=c.key,
        weight=c.weight,
        warning_pct=c.warning_pct,
        detail=detail,
    )


def _load(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None  # not a finished run: skip it
    return data if isinstance(data, dict) else None
