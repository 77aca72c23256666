"""The experiment as it ran: Chaos Toolkit's journal (``chaos-journal.json``) and the residue audit.

The journal is chaoslib's own structure: ``steady_states`` (``before``,
``during``, ``after``, each ``{"steady_state_met", "probes": [run]}``), ``run``
and ``rollbacks`` (lists of runs), where a run is ``{"activity", "status",
"start", "end", "duration", "output", "exception"?, "tolerance_met"?}`` with
ISO-8601 times.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime

from reports.charts import Bar
from reports.fields import Fields
from reports.results import ResultsFolder

MAX_TEXT = 600


@dataclass(frozen=True)
class ActivityRun:
    section: str
    kind: str
    name: str
    provider: str
    start: float | None
    end: float | None
    duration: float | None
    status: str
    tolerance_met: bool | None
    output: str
    error: str
    background: bool


@dataclass
class ExperimentView:
    present: bool
    title: str = ""
    status: str = "unknown"
    deviated: bool | None = None
    start: float | None = None
    end: float | None = None
    duration: float | None = None
    chaoslib_version: str = ""
    chaostoolkit_status: str = ""  # Chaos Toolkit's own status when the runner's differs
    steady_before: bool | None = None
    steady_after: bool | None = None
    steady_after_rollbacks: bool | None = None
    activities: list[ActivityRun] = field(default_factory=list)

    @property
    def rollbacks(self) -> list[ActivityRun]:
        return [a for a in self.activities if a.section == "rollback"]

    @property
    def failed(self) -> list[ActivityRun]:
        return [a for a in self.activities if a.status not in ("succeeded", "")]

    def bars(self) -> list[Bar]:
        return [Bar(a.name, a.start, a.end, a.status, a.kind) for a in self.activities]


@dataclass(frozen=True)
class ResidueItem:
    kind: str
    target: str
    detail: str


@dataclass
class ResidueView:
    present: bool
    clean: bool | None = None
    note: str = ""
    items: list[ResidueItem] = field(default_factory=list)


def iso_time(text: str | None) -> float | None:
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:  # chaoslib writes aware UTC times; a naive one is taken as UTC
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def short(value: object, limit: int = MAX_TEXT) -> str:
    if value is None:
        return ""
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _provider(activity: Fields) -> str:
    provider = activity.obj("provider")
    if provider is None:
        return activity.text("ref") and f"ref {activity.text('ref')}" or ""
    kind = provider.text("type") or ""
    if kind == "python":
        return f"python {provider.text('module') or '?'}.{provider.text('func') or '?'}"
    if kind == "http":
        return f"http {provider.text('method') or 'GET'} {provider.text('url') or ''}".strip()
    if kind == "process":
        return f"process {provider.text('path') or ''}".strip()
    return kind


def _run(item: Fields, section: str, unfinished: str = "") -> ActivityRun:
    """One activity run; ``unfinished`` is the status of a run Chaos Toolkit left without one
    (it raised something other than ActivityFailed and the experiment was aborted)."""
    activity = item.obj("activity") or Fields({}, item.path, f"{item.prefix}.activity")
    exception = item.data.get("exception")
    if isinstance(exception, list):
        error = "".join(str(line) for line in exception).strip().splitlines()
        error_text = error[-1] if error else ""
    else:
        error_text = short(exception)
    return ActivityRun(
        section=section,
        kind=activity.text("type") or "activity",
        name=activity.text("name") or "(unnamed)",
        provider=_provider(activity),
        start=iso_time(item.text("start")),
        end=iso_time(item.text("end")),
        duration=item.number("duration"),
        status=item.text("status") or unfinished,
        tolerance_met=item.flag("tolerance_met"),
        output=short(item.data.get("output")),
        error=short(error_text),
        background=bool(activity.flag("background")),
    )


def _steady(journal: Fields, key: str, section: str) -> tuple[bool | None, list[ActivityRun]]:
    states = journal.obj("steady_states")
    if states is None:
        return None, []
    state = states.obj(key)
    if state is None:
        return None, []
    return state.flag("steady_state_met"), [_run(p, section) for p in state.objs("probes")]


def read_experiment(folder: ResultsFolder) -> ExperimentView:
    journal = folder.journal
    if journal is None:
        return ExperimentView(present=False)
    experiment = journal.obj("experiment")
    view = ExperimentView(
        present=True,
        title=(experiment.text("title") if experiment else None) or "",
        status=journal.text("status") or "unknown",
        deviated=journal.flag("deviated"),
        start=iso_time(journal.text("start")),
        end=iso_time(journal.text("end")),
        duration=journal.number("duration"),
        chaoslib_version=journal.text("chaoslib-version") or "",
    )
    view.steady_before, before = _steady(journal, "before", "steady state before")
    during: list[ActivityRun] = []
    states = journal.obj("steady_states")
    if states is not None:
        for state in states.objs("during"):
            during.extend(_run(p, "steady state during") for p in state.objs("probes"))
    view.steady_after, after = _steady(journal, "after", "steady state after")
    unfinished = view.status if view.status in ("aborted", "interrupted") else ""
    method = [_run(r, "method", unfinished) for r in journal.objs("run")]
    rollbacks = [_run(r, "rollback") for r in journal.objs("rollbacks")]
    view.activities = before + method + during + after + rollbacks
    ours = journal.obj("tradestorm")  # tradestorm's runner adds its own verdict on the run
    if ours is not None:
        status = ours.text("status")
        if status and status != view.status:
            view.chaostoolkit_status = view.status
            view.status = status
        view.deviated = ours.flag("deviated", view.deviated)
        final = ours.obj("steady_state_after_rollbacks")
        if final is not None:
            view.steady_after_rollbacks = final.flag("steady_state_met")
            view.activities += [_run(p, "steady state after rollbacks")
                                for p in final.objs("probes")]
    view.activities.sort(key=lambda a: (a.start is None, a.start or 0.0))
    return view


def read_residue(folder: ResultsFolder) -> ResidueView:
    residue = folder.residue
    if residue is None:
        return ResidueView(present=False)
    view = ResidueView(present=True, clean=residue.flag("clean"), note=residue.text("note") or "")
    for item in residue.objs("items"):
        view.items.append(ResidueItem(item.text("kind") or "", item.text("target") or "",
                                      short(item.data.get("detail"))))
    if view.clean is None:
        view.clean = not view.items
    return view
