"""``run.json``: what a run was, read and written here only (docs/contracts.md §4).

The runner writes it when the run starts (status ``running``) and again at every
phase change and at the end, so even a run killed outright leaves a record of how
far it got. ``schema`` versions the document: a reader refuses a version it does
not know rather than misreading it. Times are Unix seconds.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runfolder.errors import RunFolderError
from runfolder.layout import RUN_JSON

SCHEMA = 1
SUPPORTED_SCHEMAS = (1,)
STATUSES = ("running", "completed", "interrupted", "failed", "aborted")
WARMUP = "warmup"  # kept apart in the document (not judged), a phase in the record


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
            "phases": [p.to_dict() for p in self.phases if p.name != WARMUP],
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
            "warmup": next((p.to_dict() for p in self.phases if p.name == WARMUP), None),
            "target_started_by_run": self.target_started_by_run,
            "interrupted_at": self.interrupted_at,
            "stages": self.stages,
            "errors": self.errors,
        }

    def write(self, results_dir: Path) -> Path:
        return write_json(results_dir / RUN_JSON, self.to_dict())


def load_document(path: Path) -> dict[str, Any]:
    """``run.json`` as a checked JSON object: a known ``schema``, and every contract key
    that is present of its type (a reader may still miss keys: an old or partial run)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RunFolderError(path, "(file)", "no run.json in the results folder") from None
    except UnicodeDecodeError as exc:
        raise RunFolderError(path, "(file)", f"not UTF-8 text: {exc.reason}") from None
    except OSError as exc:
        raise RunFolderError(path, "(file)", f"cannot be read: {exc.strerror}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RunFolderError(path, "(json)", f"not valid JSON: {exc.msg} at line {exc.lineno} "
                             f"column {exc.colno}") from None
    if not isinstance(data, dict):
        raise RunFolderError(path, "(file)", "expected a JSON object")
    _check(path, data)
    return data


def read_run(results_dir: Path) -> RunRecord:
    """The run recorded in ``results_dir``; raises :class:`RunFolderError` naming the field."""
    if not results_dir.is_dir():
        raise RunFolderError(results_dir, "(folder)", "no such results folder")
    path = results_dir / RUN_JSON
    return from_document(load_document(path), path)


def from_document(data: dict[str, Any], path: Path) -> RunRecord:
    """A :class:`RunRecord` from a checked document; an open phase ends with the run."""
    ended = data.get("ended_at")
    phases = []
    warmup = data.get("warmup")
    for raw in ([warmup] if isinstance(warmup, dict) else []) + list(data.get("phases") or []):
        end = raw.get("end")
        if end is None:  # an interrupted run: the phase ran until the run ended
            end = ended if ended is not None else raw["start"]
        phases.append(PhaseRecord(raw["name"], float(raw["start"]), float(end),
                                  raw.get("planned_seconds")))
    started = data.get("started_at")
    starts = [p.start for p in phases if p.name != WARMUP]
    ends = [p.end for p in phases if p.end is not None]
    if started is None and not starts:
        raise RunFolderError(path, "started_at", "no time window: neither phases nor "
                             "started_at/ended_at")
    record = RunRecord(
        run_id=data.get("run_id") or path.parent.name,
        scenario=data.get("scenario") or "",
        target=data.get("target") or "",
        started_at=float(started if started is not None else min(starts)),
        load=data.get("load") or {},
        status=data.get("status") or "",  # "": not recorded (an old or hand-made run.json)
        ended_at=float(ended) if ended is not None else (max(ends) if ends else None),
        phases=phases,
        faults=[dict(f, end=f.get("end") if f.get("end") is not None else f["start"])
                for f in data.get("faults") or []],
        prometheus_url=data.get("prometheus_url"),
        versions=data.get("versions") or {},
        description=data.get("description") or "",
        scenario_file=data.get("scenario_file") or "",
        experiment=data.get("experiment"),
        slo_spec=data.get("slo_spec") or "",
        verdict=data.get("verdict"),
        exit_code=data.get("exit_code"),
        target_started_by_run=bool(data.get("target_started_by_run")),
        interrupted_at=data.get("interrupted_at"),
        stages=data.get("stages") or {},
        errors=list(data.get("errors") or []),
    )
    return record


# -- the document's types ---------------------------------------------------------

_TEXT = ("run_id", "scenario", "target", "prometheus_url", "description", "scenario_file",
         "slo_spec", "verdict")
_TIMES = ("started_at", "ended_at", "interrupted_at")
_OBJECTS = ("load", "versions", "experiment", "stages", "warmup")


def _is_time(value: Any) -> bool:
    return (not isinstance(value, bool) and isinstance(value, int | float)
            and math.isfinite(value) and value >= 0)


def _check(path: Path, data: dict[str, Any]) -> None:
    def fail(where: str, problem: str) -> RunFolderError:
        return RunFolderError(path, where, problem)

    schema = data.get("schema", 1)
    if schema not in SUPPORTED_SCHEMAS:
        raise fail("schema", f"run.json schema {schema!r} is not one this version reads "
                   f"({', '.join(map(str, SUPPORTED_SCHEMAS))}); use a newer tradestorm")
    for key in _TEXT:
        if data.get(key) is not None and not isinstance(data[key], str):
            raise fail(key, f"expected text, got {type(data[key]).__name__}")
    for key in _TIMES:
        if data.get(key) is not None and not _is_time(data[key]):
            raise fail(key, f"expected Unix seconds, got {data[key]!r}")
    for key in _OBJECTS:
        if data.get(key) is not None and not isinstance(data[key], dict):
            raise fail(key, "expected an object")
    if data.get("status") is not None and data["status"] not in STATUSES:
        raise fail("status", f"expected one of {', '.join(STATUSES)}, got {data['status']!r}")
    if data.get("exit_code") is not None and (isinstance(data["exit_code"], bool)
                                              or not isinstance(data["exit_code"], int)):
        raise fail("exit_code", f"expected an integer, got {data['exit_code']!r}")
    experiment = data.get("experiment") or {}
    if not isinstance(experiment.get("deviated", False), bool):
        raise fail("experiment.deviated", "expected true or false")
    stages = data.get("stages") or {}
    for name, stage in stages.items():
        if not isinstance(stage, dict):
            raise fail(f"stages.{name}", "expected an object")
    if data.get("errors") is not None and (
            not isinstance(data["errors"], list)
            or not all(isinstance(e, str) for e in data["errors"])):
        raise fail("errors", "expected a list of text")
    phases = data.get("phases")
    if phases is not None and not isinstance(phases, list):
        raise fail("phases", "expected a list")
    warmup = data.get("warmup")
    for where, phase in ([("warmup", warmup)] if warmup is not None else []) + [
            (f"phases[{i}]", p) for i, p in enumerate(phases or [])]:
        if not isinstance(phase, dict) or not isinstance(phase.get("name"), str):
            raise fail(f"{where}.name", "expected a phase with a name")
        if not _is_time(phase.get("start")):
            raise fail(f"{where}.start", f"expected Unix seconds, got {phase.get('start')!r}")
        end = phase.get("end")
        if end is not None and not _is_time(end):
            raise fail(f"{where}.end", f"expected Unix seconds, got {end!r}")
        if end is not None and end < phase["start"]:
            raise fail(f"{where}.end", f"ends before it starts ({end} < {phase['start']})")
    faults = data.get("faults")
    if faults is not None and not isinstance(faults, list):
        raise fail("faults", "expected a list")
    for i, fault in enumerate(faults or []):
        if not isinstance(fault, dict):
            raise fail(f"faults[{i}]", "expected an object")
        if not _is_time(fault.get("start")):
            raise fail(f"faults[{i}].start", f"expected Unix seconds, got {fault.get('start')!r}")
        if fault.get("end") is not None and not _is_time(fault["end"]):
            raise fail(f"faults[{i}].end", f"expected Unix seconds, got {fault['end']!r}")
        if fault.get("args") is not None and not isinstance(fault["args"], dict):
            raise fail(f"faults[{i}].args", "expected an object")
