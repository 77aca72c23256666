"""Where a run's results folder goes, and its creation (nothing is ever overwritten).

What is inside it, ``run.json`` included, is :mod:`runfolder`'s (docs/contracts.md §4).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from runfolder.layout import LOGS_DIR
from tradestorm.runner.errors import ResultsFolderError


def make_run_id(scenario: str, now: float | None = None) -> str:
    """``20261122T080000Z-pod-kill-orders`` (UTC)."""
    stamp = datetime.fromtimestamp(time.time() if now is None else now, tz=UTC)
    return f"{stamp:%Y%m%dT%H%M%SZ}-{scenario}"


def default_results_dir(run_id: str, root: Path | None = None) -> Path:
    return (root or Path("results")) / run_id


def check_results_dir(path: Path) -> Path:
    """Refuse a folder that already holds files (nothing is overwritten); creates nothing."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise ResultsFolderError(f"results folder {path}: exists and is not a folder")
    if path.is_dir() and any(path.iterdir()):
        raise ResultsFolderError(
            f"results folder {path}: not empty (a run never overwrites another's results; "
            "choose a new folder or leave --results out for results/<time>-<scenario>/)"
        )
    return path


def prepare_results_dir(path: Path) -> Path:
    """Create the run's folder (checked first with :func:`check_results_dir`)."""
    path = check_results_dir(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
        (path / LOGS_DIR).mkdir(exist_ok=True)
    except OSError as exc:
        raise ResultsFolderError(f"results folder {path}: cannot be created: {exc}") from None
    return path


def write_yaml(path: Path, payload: Any) -> Path:
    path.write_text(yaml.safe_dump(payload, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path
