"""A run's results folder (docs/contracts.md §4) and its ``run.json``.

One folder per run; everything the gate and the report read lands here. The
runner writes ``run.json`` when the run starts (status ``running``) and again
at every phase change and at the end, so even a run killed outright leaves a
record of how far it got.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from tradestorm.runner.errors import ResultsFolderError

SCHEMA = 1
STATUSES = ("running", "completed", "interrupted", "failed")


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
        (path / "logs").mkdir(exist_ok=True)
    except OSError as exc:
        raise ResultsFolderError(f"results folder {path}: cannot be created: {exc}") from None
    return path


def write_json(path: Path, payload: Any) -> Path:
    """Write JSON atomically (a reader never sees half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(payload, handle, indent=2, sort_keys=False, default=str)
            handle.write("\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_yaml(path: Path, payload: Any) -> Path:
    path.write_text(yaml.safe_dump(payload, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


@dataclass
class PhaseRecord:
    name: str
    start: float
    end: float | None = None
    planned_seconds: float | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "start": self.start, "end": self.end}
        if self.planned_seconds is not None:
            out["planned_seconds"] = self.planned_seconds
        return out


@dataclass
class RunRecord:
    """The content of ``run.json`` (contract keys first, then the runner's additions)."""

    run_id: str
    scenario: str
    target: str
    started_at: float
    load: dict[str, Any]
    status: str = "running"
    ended_at: float | None = None
    phases: list[PhaseRecord] = field(default_factory=list)
    faults: list[dict[str, Any]] = field(default_factory=list)
    prometheus_url: str | None = None
    versions: dict[str, str | None] = field(default_factory=dict)
    # additions (optional for readers)
    description: str = ""
    scenario_file: str = ""
    experiment: dict[str, Any] | None = None
    slo_spec: str = ""
    verdict: str | None = None
    exit_code: int | None = None
    target_started_by_run: bool = False
    interrupted_at: float | None = None
    stages: dict[str, Any] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    def phase(self, name: str) -> PhaseRecord | None:
        for record in self.phases:
            if record.name == name:
                return record
        return None

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "run_id": self.run_id,
            "scenario": self.scenario,
            "target": self.target,
            "started_at": self.started_at,
            "ended_at": self.ended_at,
            "status": self.status,
            "phases": [p.to_dict() for p in self.phases if p.name != "warmup"],
            "faults": self.faults,
            "load": self.load,
            "prometheus_url": self.prometheus_url,
            "versions": self.versions,
            "description": self.description,
            "scenario_file": self.scenario_file,
            "experiment": self.experiment,
            "slo_spec": self.slo_spec,
            "verdict": self.verdict,
            "exit_code": self.exit_code,
            "warmup": next((p.to_dict() for p in self.phases if p.name == "warmup"), None),
            "target_started_by_run": self.target_started_by_run,
            "interrupted_at": self.interrupted_at,
            "stages": self.stages,
            "errors": self.errors,
        }

    def write(self, results_dir: Path) -> Path:
        return write_json(results_dir / "run.json", self.to_dict())
