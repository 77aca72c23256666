"""The time windows a gate judges: a run's phases and faults, or a bare window.

Read from a results folder's ``run.json`` (through :mod:`runfolder`, which owns it)
or built from ``--from``/``--to``. Times are Unix seconds (float).
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from runfolder.errors import RunFolderError
from runfolder.layout import RUN_JSON
from runfolder.record import read_run as runfolder_read
from runfolder.sends import read_sends
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
    #: The route classes the run's load sent to (sends.json); None: unknown, every class
    #: may have traffic. An objective of another class is not applicable to the run.
    route_classes: tuple[str, ...] | None = None

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
    """The run described by ``results_dir/run.json`` (read by :mod:`runfolder`); raise
    :class:`ResultsError` if malformed."""
    try:
        record = runfolder_read(results_dir)
        sends = read_sends(results_dir)
    except RunFolderError as exc:
        raise ResultsError(exc.source, exc.field, exc.problem) from None
    phases = tuple(Phase(p.name, p.start, p.end if p.end is not None else p.start)
                   for p in record.phases)
    faults = tuple(
        Fault(action=f.get("action"), target=f.get("target"), start=float(f["start"]),
              end=float(f["end"]), args=f.get("args") or {})
        for f in record.faults
    )
    start = min([p.start for p in phases] + [record.started_at])
    end = max([p.end for p in phases]
              + ([record.ended_at] if record.ended_at is not None else []))
    if end <= start:
        raise ResultsError(results_dir / RUN_JSON, "ended_at",
                           f"the run must end after it starts ({end} <= {start})")
    return RunInfo(
        start=start,
        end=end,
        phases=phases,
        faults=faults,
        results_dir=results_dir,
        run_id=record.run_id,
        scenario=record.scenario or None,
        target=record.target or None,
        status=record.status or None,
        prometheus_url=record.prometheus_url,
        experiment=record.experiment,
        stages=record.stages,
        route_classes=sends.route_classes if sends is not None else None,
    )
