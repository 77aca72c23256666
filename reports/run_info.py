"""What was run (``run.json``: scenario, target, phases, faults, versions) and the verdict."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from reports import fmt
from reports.fields import Fields
from reports.results import ResultsFolder

PHASE_ORDER = ("baseline", "fault", "recovery", "run")


@dataclass(frozen=True)
class Phase:
    name: str
    start: float | None
    end: float | None


@dataclass(frozen=True)
class Fault:
    action: str
    target: str
    args: dict[str, str]
    start: float | None
    end: float | None

    @property
    def label(self) -> str:
        return f"{self.action} {self.target}".strip()


@dataclass(frozen=True)
class Stage:
    """One stage of the runner (load, experiment, reconcile, gate, …) as run.json records it."""

    name: str
    ok: bool | None
    problem: str


@dataclass
class RunInfo:
    run_id: str
    scenario: str
    target: str
    status: str
    started_at: float | None
    ended_at: float | None
    phases: list[Phase] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    load: dict[str, str] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)
    description: str = ""
    errors: list[str] = field(default_factory=list)
    stages: list[Stage] = field(default_factory=list)
    #: load processes restarted, replaced or lost during the run (stages.load.events)
    load_events: list[str] = field(default_factory=list)
    interrupted_at: float | None = None
    #: what stopped the fault early (stages.guardrails.tripped): when, what, why
    guardrail_at: float | None = None
    guardrail: str = ""
    guardrail_removed_at: float | None = None
    #: the trading calendar in force (stages.guardrails.calendar.file), "" when none
    calendar: str = ""

    @property
    def duration_s(self) -> float | None:
        if self.started_at is None or self.ended_at is None:
            return None
        return self.ended_at - self.started_at


@dataclass(frozen=True)
class Verdict:
    verdict: str
    score: float | None
    exit_code: int | None
    spec: str | None
    evaluated_at: float | None
    reasons: list[str] = field(default_factory=list)
    error: str | None = None


def _flat(obj: Fields | None) -> dict[str, str]:
    if obj is None:
        return {}
    out = {}
    for key, value in obj.data.items():
        if value is None:
            continue
        out[str(key)] = value if isinstance(value, str) else _json_text(value)
    return out


def _json_text(value: object) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def read_run_info(folder: ResultsFolder) -> RunInfo:
    run = folder.run
    window = folder.slo.obj("window") if folder.slo else None
    ts = folder.timeseries
    started = (run.number("started_at") if run else None) \
        or (ts.number("start") if ts else None) or (window.number("start") if window else None)
    ended = (run.number("ended_at") if run else None) \
        or (ts.number("end") if ts else None) or (window.number("end") if window else None)
    if ended is None and folder.locust and folder.locust.history:
        ended = folder.locust.history[-1].t
        started = started if started is not None else folder.locust.history[0].t
    info = RunInfo(
        run_id=(run.text("run_id") if run else None) or folder.path.name,
        scenario=(run.text("scenario") if run else None) or "(unknown scenario)",
        target=(run.text("target") if run else None) or "(unknown target)",
        status=(run.text("status") if run else None) or "unknown",
        started_at=started,
        ended_at=ended,
    )
    if run is None:
        return info
    for phase in run.objs("phases"):
        info.phases.append(Phase(phase.text("name") or "?", phase.number("start"),
                                 phase.number("end")))
    for fault in run.objs("faults"):
        info.faults.append(Fault(
            action=fault.text("action") or "fault",
            target=fault.text("target") or "",
            args=_flat(fault.obj("args")),
            start=fault.number("start"),
            end=fault.number("end"),
        ))
    info.load = _flat(run.obj("load"))
    info.versions = _flat(run.obj("versions"))
    # the runner's additions to run.json (optional for readers)
    info.description = run.text("description") or ""
    info.errors = run.strs("errors")
    info.interrupted_at = run.number("interrupted_at")
    stages = run.obj("stages")
    if stages is not None:
        for name in stages.data:
            stage = stages.obj(name)
            if stage is None:
                continue
            problem = stage.text("error") or (
                f"skipped: {stage.text('skipped')}" if stage.has("skipped") else "")
            info.stages.append(Stage(name, stage.flag("ok"), problem))
        guard = stages.obj("guardrails")
        trip = guard.obj("tripped") if guard is not None else None
        if trip is not None:
            info.guardrail_at = trip.number("tripped_at")
            info.guardrail_removed_at = trip.number("fault_removed_at")
            info.guardrail = (f"{trip.text('kind') or 'guardrail'} "
                              f"{trip.text('name') or ''}: {trip.text('reason') or ''}")
        calendar = guard.obj("calendar") if guard is not None else None
        if calendar is not None:
            allowed = " (allowed during sessions)" if calendar.flag("allowed_during_session") \
                else ""
            venues = ", ".join(calendar.strs("venues")) or "all venues"
            info.calendar = f"{calendar.text('file') or '?'} [{venues}]{allowed}"
        load = stages.obj("load")
        for event in load.objs("events") if load is not None else ():
            when = fmt.offset(event.number("t"), info.started_at)
            info.load_events.append(
                f"{event.text('kind') or 'event'} {event.text('pod') or ''} at {when}"
                + (f" ({event.text('detail')})" if event.text("detail") else ""))
    return info


def read_verdict(folder: ResultsFolder) -> Verdict:
    slo = folder.slo
    if slo is None:
        return Verdict("not evaluated", None, None, None, None)
    return Verdict(
        verdict=slo.text("verdict") or "unknown",
        score=slo.number("score"),
        exit_code=slo.integer("exit_code"),
        spec=slo.text("spec"),
        evaluated_at=slo.number("evaluated_at"),
        reasons=slo.strs("reasons"),
        error=slo.text("error"),
    )
