"""The time windows a gate judges: a run's phases and faults, or a bare window.

Read from a results folder's ``run.json`` (docs/contracts.md §4) or built from
``--from``/``--to``. Times are Unix seconds (float).
"""

from __future__ import annotations

import json
import math
import re
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from slo.errors import ResultsError
from slo.spec import RUN_PHASE

WARMUP_PHASE = "warmup"  # not judged: caches, pools and 10 s rates are still filling
_RELATIVE_RE = re.compile(r"^(?:now)?-(\d+(?:\.\d+)?)(ms|s|m|h|d)$")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}


@dataclass(frozen=True)
class Phase:
    name: str
    start: float
    end: float


@dataclass(frozen=True)
class Fault:
    action: str | None
    target: str | None
    start: float
    end: float
    args: dict[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return " ".join(p for p in (self.action or "fault", self.target or "") if p)


@dataclass(frozen=True)
class RunInfo:
    """What the gate judges: a window, its phases and faults, and where it came from."""

    start: float
    end: float
    phases: tuple[Phase, ...]
    faults: tuple[Fault, ...] = ()
    results_dir: Path | None = None
    run_id: str | None = None
    scenario: str | None = None
    target: str | None = None  # "local" | "kubernetes" | None (unknown)
    status: str | None = None
    prometheus_url: str | None = None
    only_phase: str | None = None  # a bare window: judge only the criteria of this phase
    # run.json's "experiment" (status, deviated, residue_clean) and "stages" (each stage's
    # ok/error): the run-level checks of the verdict (slo/verdict.py)
    experiment: dict[str, Any] | None = None
    stages: dict[str, dict[str, Any]] = field(default_factory=dict)

    def phase(self, name: str) -> Phase | None:
        """The named phase; ``run`` spans the whole run after its warmup (if any)."""
        if name == RUN_PHASE:
            warmup = next((p for p in self.phases if p.name == WARMUP_PHASE), None)
            start = warmup.end if warmup is not None and warmup.end < self.end else self.start
            return Phase(RUN_PHASE, start, self.end)
        return next((p for p in self.phases if p.name == name), None)


def parse_time(
    text: str, *, now: float | None = None, source: str = "command line", option: str = "--from"
) -> float:
    """Unix seconds from ``1763798400``, an ISO 8601 time, ``now`` or ``now-15m`` / ``-15m``."""
    now = time.time() if now is None else now
    value = text.strip()
    if value == "now":
        return now
    match = _RELATIVE_RE.match(value)
    if match:
        return now - float(match.group(1)) * _UNITS[match.group(2)]
    try:
        seconds = float(value)
    except ValueError:
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise ResultsError(
                source,
                option,
                f"expected Unix seconds, an ISO 8601 time, 'now' or 'now-15m', got {text!r}",
            ) from None
        if parsed.tzinfo is None:
            problem = f"ISO time {text!r} has no time zone (add Z or +00:00)"
            raise ResultsError(source, option, problem) from None
        return parsed.timestamp()
    if not math.isfinite(seconds) or seconds < 0:
        raise ResultsError(source, option, f"expected non-negative Unix seconds, got {text!r}")
    return seconds


def window_run(
    start: float,
    end: float,
    *,
    phase: str = RUN_PHASE,
    target: str | None = None,
    prometheus_url: str | None = None,
) -> RunInfo:
    """A bare window outside a run, judged as one phase named ``phase``."""
    if end <= start:
        raise ResultsError(
            "command line",
            "--to",
            f"the window must end after it starts (from {start:.3f}, to {end:.3f})",
        )
    phases = () if phase == RUN_PHASE else (Phase(phase, start, end),)
    return RunInfo(
        start=start,
        end=end,
        phases=phases,
        target=target,
        prometheus_url=prometheus_url,
        only_phase=phase,
    )


def read_run(results_dir: Path) -> RunInfo:
    """The run described by ``results_dir/run.json``; raise :class:`ResultsError` if malformed."""
    path = results_dir / "run.json"
    if not results_dir.is_dir():
        raise ResultsError(results_dir, "(folder)", "no such results folder")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ResultsError(path, "(file)", "no run.json in the results folder") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ResultsError(path, "(file)", f"not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ResultsError(path, "(file)", "expected a JSON object")

    def number(obj: dict, key: str, where: str, required: bool = True) -> float | None:
        value = obj.get(key)
        if value is None and not required:
            return None
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            raise ResultsError(path, f"{where}{key}", f"expected Unix seconds, got {value!r}")
        return float(value)

    phases: list[Phase] = []
    raw_phases = data.get("phases") or []
    if not isinstance(raw_phases, list):
        raise ResultsError(path, "phases", "expected a list")
    for i, p in enumerate(raw_phases):
        if not isinstance(p, dict) or not isinstance(p.get("name"), str):
            raise ResultsError(path, f"phases[{i}].name", "expected a phase with a name")
        start = number(p, "start", f"phases[{i}].")
        end = number(p, "end", f"phases[{i}].", required=False)
        assert start is not None
        if end is None:  # an interrupted run: the phase ran until the run ended
            end = number(data, "ended_at", "", required=False) or start
        if end < start:
            raise ResultsError(path, f"phases[{i}].end", f"ends before it starts ({end} < {start})")
        phases.append(Phase(p["name"], start, end))

    faults: list[Fault] = []
    raw_faults = data.get("faults") or []
    if not isinstance(raw_faults, list):
        raise ResultsError(path, "faults", "expected a list")
    for i, f in enumerate(raw_faults):
        if not isinstance(f, dict):
            raise ResultsError(path, f"faults[{i}]", "expected an object")
        start = number(f, "start", f"faults[{i}].")
        end = number(f, "end", f"faults[{i}].", required=False)
        assert start is not None
        args = f.get("args") if isinstance(f.get("args"), dict) else {}
        faults.append(
            Fault(
                action=f.get("action"),
                target=f.get("target"),
                start=start,
                end=end if end is not None else start,
                args=args,
            )
        )

    started = number(data, "started_at", "", required=False)
    ended = number(data, "ended_at", "", required=False)
    start = min(
        [p.start for p in phases] + ([started] if started is not None else []), default=None
    )
    end = max([p.end for p in phases] + ([ended] if ended is not None else []), default=None)
    if start is None or end is None:
        raise ResultsError(
            path, "started_at", "no time window: neither phases nor started_at/ended_at"
        )
    if end <= start:
        raise ResultsError(path, "ended_at", f"the run must end after it starts ({end} <= {start})")
    experiment = data.get("experiment")
    if experiment is not None and not isinstance(experiment, dict):
        raise ResultsError(path, "experiment", "expected an object")
    if experiment is not None and not isinstance(experiment.get("deviated", False), bool):
        raise ResultsError(path, "experiment.deviated", "expected true or false")
    stages = data.get("stages") or {}
    if not isinstance(stages, dict) or not all(isinstance(v, dict) for v in stages.values()):
        raise ResultsError(path, "stages", "expected an object of stage -> object")
    target = data.get("target") if isinstance(data.get("target"), str) else None
    url = data.get("prometheus_url") if isinstance(data.get("prometheus_url"), str) else None
    return RunInfo(
        start=start,
        end=end,
        phases=tuple(phases),
        faults=tuple(faults),
        results_dir=results_dir,
        run_id=data.get("run_id"),
        scenario=data.get("scenario"),
        target=target,
        status=data.get("status"),
        prometheus_url=url,
        experiment=experiment,
        stages=stages,
    )
