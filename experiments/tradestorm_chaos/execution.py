"""Run one experiment with Chaos Toolkit, stricter than Chaos Toolkit (docs/contracts.md §5).

``run_experiment`` is what ``tradestorm chaos run`` and the scenario runner
call. Around Chaos Toolkit's own run it adds:

1. validation (``validation``) and the target check (an experiment that runs
   on kubernetes only is refused on local before anything is touched);
2. a pre-flight: the target is reachable, allowed (Kubernetes: context and
   namespace), and clean (a target with faults already in place is not
   experimented on: the run is "aborted");
3. Chaos Toolkit with its rollback strategy set to ``always`` (rollbacks run
   on deviation, on a failed action and on interruption), no global controls
   and no settings file read (so no extension can call out), and no version
   check (that lives only in the ``chaos`` CLI, which is not used);
4. SIGINT/SIGTERM interrupt once and then shield the cleanup (``signals``);
5. a sweep that undoes every fault of the ledger still open (a rollback that
   failed or never ran);
6. the steady state checked again after the rollbacks;
7. the residue audit (``residue``): anything left makes the run "failed";
8. every activity's status checked: Chaos Toolkit reports "completed" when
   an action failed, this module reports "failed".

It writes ``chaos-journal.json`` (Chaos Toolkit's journal, plus a
``tradestorm`` section) and ``residue.json``, and returns an
``ExperimentOutcome`` whose ``faults`` are the ``faults`` of ``run.json``.
"""

from __future__ import annotations

import copy
import json
import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tradestorm_chaos.config import TARGETS, ChaosSettings
from tradestorm_chaos.drivers import build_driver
from tradestorm_chaos.drivers.base import Driver, ResidueItem
from tradestorm_chaos.errors import ExperimentInvalid, UnsupportedOnTarget
from tradestorm_chaos.plan import ExperimentPlan, plan_experiment
from tradestorm_chaos.residue import CONVERGING, audit, residue_document, write_residue
from tradestorm_chaos.session import RunSession, end_session, new_session
from tradestorm_chaos.signals import InterruptGuard

logger = logging.getLogger("tradestorm_chaos")

STATUSES = ("completed", "failed", "aborted", "interrupted")
#: Chaos Toolkit settings for every run: rollbacks always, nothing else (no controls)
CHAOS_SETTINGS: dict[str, Any] = {"runtime": {"rollbacks": {"strategy": "always"}}}


@dataclass
class ExperimentOutcome:
    """What one experiment run gave (``status`` is one of ``STATUSES``)."""

    status: str
    deviated: bool
    residue_clean: bool
    faults: list[dict[str, Any]] = field(default_factory=list)
    journal_path: Path | None = None
    residue_path: Path | None = None
    failed_activities: list[str] = field(default_factory=list)
    residue: list[dict[str, str]] = field(default_factory=list)
    steady_after_rollbacks: bool | None = None
    messages: list[str] = field(default_factory=list)
    dry_run: bool = False
    planned: list[str] = field(default_factory=list)
    signal: str | None = None
    signalled_at: float | None = None  # when the first SIGINT/SIGTERM arrived
    stop_reason: str | None = None  # stopped by ``session.stop_current_run`` (not a signal)

    @property
    def ok(self) -> bool:
        return self.status == "completed" and not self.deviated and self.residue_clean

    @property
    def exit_code(self) -> int:
        """0 held and clean; 1 deviated, failed or residue; 2 aborted; 130 interrupted."""
        if self.status == "interrupted":
            return 130
        if self.status == "aborted":
            return 2
        return 0 if self.ok else 1

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status, "deviated": self.deviated, "residue_clean": self.residue_clean,
            "faults": self.faults, "failed_activities": self.failed_activities,
            "residue": self.residue, "steady_after_rollbacks": self.steady_after_rollbacks,
            "messages": self.messages, "dry_run": self.dry_run, "planned": self.planned,
            "signal": self.signal, "signalled_at": self.signalled_at,
            "stop_reason": self.stop_reason,
        }


def _make_chaos_runner() -> Any:
    from chaoslib.run import Runner
    from chaoslib.types import Strategy

    class _GuardedRunner(Runner):
        """chaoslib's Runner minus its signal handlers (``signals.InterruptGuard`` owns them)."""

        def run(self, experiment: Any, settings: Any = None, experiment_vars: Any = None,
                journal: Any = None) -> Any:
            self.configure(experiment, settings, experiment_vars)
            return self._run(self.strategy, self.schedule, experiment, journal, self.config,
                             self.secrets, self.settings, self.event_registry)

    return _GuardedRunner(Strategy.DEFAULT)


def _resolve_configuration(experiment: dict[str, Any], source: Path) -> dict[str, Any]:
    from chaoslib.configuration import load_configuration
    from chaoslib.exceptions import ChaosException

    try:
        return load_configuration(experiment.get("configuration") or {})
    except ChaosException as exc:
        raise ExperimentInvalid(source, "configuration", str(exc)) from None


def _failed_runs(journal: dict[str, Any]) -> list[str]:
    failed: list[str] = []
    for section in ("run", "rollbacks"):
        for run in journal.get(section) or []:
            if run.get("status") != "succeeded":
                name = (run.get("activity") or {}).get("name", "?")
                if run.get("status") is None:  # cut short by SIGINT/SIGTERM
                    reason = "interrupted"
                else:
                    reason = (run.get("exception") or ["(no reason given)"])[-1].strip()
                failed.append(f"{'method' if section == 'run' else 'rollbacks'}: {name}: {reason}")
    return failed


def run_experiment(
    experiment: ExperimentPlan | Path,
    *,
    target: str,
    configuration: Mapping[str, Any] | None = None,
    journal_path: Path,
    residue_path: Path,
    dry_run: bool = False,
    allowed_contexts: Sequence[str] = (),
    allowed_namespaces: Sequence[str] = (),
    state_dir: Path | None = None,
    say: Callable[[str], None] | None = None,
) -> ExperimentOutcome:
    """Run ``experiment`` (planned by ``plan.plan_experiment``; a path is planned here) on
    ``target`` with every safety net; see the module docstring. ``configuration`` is what
    the caller assembled (``ExperimentPlan.configuration``), used as it is; the target's
    own keys (``tradestorm_target``, ``tradestorm_state_dir``) it leaves out come from
    ``target`` and ``state_dir`` (a value that disagrees with them is ``ExperimentInvalid``).

    Raises ``ExperimentInvalid`` (malformed file), ``UnsupportedOnTarget``,
    ``NotAllowed`` (Kubernetes context/namespace) or ``TargetUnavailable``
    before anything is touched; after that, problems end up in the outcome.
    """
    from chaoslib.types import Dry

    emit = say or (lambda line: print(line, flush=True))
    if target not in TARGETS:
        raise ExperimentInvalid("--target", "target", f"must be one of {', '.join(TARGETS)}")
    plan = (experiment if isinstance(experiment, ExperimentPlan)
            else plan_experiment(experiment, resolve=False))
    source = plan.path
    if target not in plan.targets:
        raise UnsupportedOnTarget(f"{source.name} runs on {', '.join(plan.targets)} only, "
                                  f"not on {target}")
    document = copy.deepcopy(dict(plan.document))
    given = dict(configuration or {})
    # the configuration is the caller's (a scenario run assembles it once, placement
    # included); only a bare call (tradestorm chaos run, a test) leaves the target's keys
    # to ``target``/``state_dir``, and a value that disagrees with them is refused, never
    # silently replaced
    placement = {"tradestorm_target": target,
                 **({"tradestorm_state_dir": str(state_dir)} if state_dir is not None else {})}
    for key, value in placement.items():
        if str(given.setdefault(key, value)) != value:
            raise ExperimentInvalid("configuration", key, f"is {given[key]!r}, but the run "
                                    f"is on {value!r} (--target / --state-dir)")
    document["configuration"] = {**(document.get("configuration") or {}), **given}
    resolved = _resolve_configuration(document, source)
    settings = ChaosSettings.from_configuration(resolved, source=str(source))
    if dry_run:
        document["dry"] = Dry.PROBES  # probes are not asked; actions print, never touch

    with _driver_session(settings, allowed_contexts, allowed_namespaces, dry_run,
                         emit) as (session, driver):
        return _run(document, settings, session, driver, journal_path, residue_path, emit,
                    dry_run)


@contextmanager
def _driver_session(
    settings: ChaosSettings, allowed_contexts: Sequence[str], allowed_namespaces: Sequence[str],
    dry_run: bool, emit: Callable[[str], None],
) -> Iterator[tuple[RunSession, Driver]]:
    """The run session and its target's driver, preflighted (NotAllowed / TargetUnavailable
    before anything is touched); the session ends and every driver closes afterwards."""
    session = new_session(allowed_contexts_=allowed_contexts,
                          allowed_namespaces_=allowed_namespaces, dry_run=dry_run, say=emit)
    try:
        driver = build_driver(settings, session)
        driver.preflight()
        yield session, driver
    finally:
        end_session(session)
        for d in session.drivers.values():
            closer = getattr(d, "close", None)
            if closer is not None:
                closer()


def _run(document: dict[str, Any], settings: ChaosSettings, session: RunSession,
         driver: Driver, journal_path: Path, residue_path: Path, emit: Callable[[str], None],
         dry_run: bool) -> ExperimentOutcome:
    from chaoslib.hypothesis import run_steady_state_hypothesis
    from chaoslib.run import initialize_run_journal

    outcome = ExperimentOutcome(status="completed", deviated=False, residue_clean=True,
                                journal_path=journal_path, residue_path=residue_path,
                                dry_run=dry_run)
    journal: dict[str, Any] = initialize_run_journal(document)
    extra: dict[str, Any] = {"target": settings.target, "dry_run": dry_run}

    if not dry_run:
        dirty = [i for i in driver.residue() if i.kind not in CONVERGING]
        if dirty:
            emit(f"the {settings.target} target is not clean before the run; nothing was "
                 f"injected: " + "; ".join(f"{i.kind} {i.target} ({i.detail})" for i in dirty)
                 + " -- see 'tradestorm chaos clean'")
            outcome.status = "aborted"
            outcome.residue_clean = False
            outcome.residue = [i.to_dict() for i in dirty]
            outcome.messages.append("target not clean before the run")
            journal["status"] = "aborted"
            extra["preflight_residue"] = outcome.residue
            _write(journal, extra, journal_path)
            write_residue(residue_path, residue_document(
                dirty, note="found BEFORE the run; nothing was injected"))
            return outcome

    chaos_runner = _make_chaos_runner()
    guard = InterruptGuard(session, emit)
    with guard:
        # Only the first signal raises; it may land anywhere up to guard.shield() (while
        # Chaos Toolkit runs, right after it returned, while logging): catch it there, so
        # the sweep, the audit and the journal/residue writes below always happen.
        try:
            try:
                journal = chaos_runner.run(document, settings=copy.deepcopy(CHAOS_SETTINGS),
                                           journal=journal)
            except KeyboardInterrupt:
                raise
            except Exception as exc:  # chaoslib itself broke: still clean up below
                journal["status"] = "aborted"
                outcome.messages.append(f"Chaos Toolkit failed: {exc!r}")
                logger.exception("Chaos Toolkit failed")
            guard.shield()
        except KeyboardInterrupt:
            journal["status"] = "interrupted"
        guard.shield()

        sweep_errors = _sweep(driver, session, emit)
        outcome.messages += sweep_errors

        if not dry_run and not guard.interrupted and journal.get("steady_states", {}).get(
                "before") is not None and document.get("steady-state-hypothesis"):
            emit("checking the steady state again after the rollbacks")
            try:
                state = run_steady_state_hypothesis(document, chaos_runner.config,
                                                    chaos_runner.secrets, dry=None,
                                                    event_registry=None)
            except Exception as exc:
                state = {"steady_state_met": False, "error": repr(exc)}
            extra["steady_state_after_rollbacks"] = state
            outcome.steady_after_rollbacks = bool(state and state.get("steady_state_met"))

        if dry_run:
            items: list[ResidueItem] = []
            write_residue(residue_path, residue_document(
                items, checked=False, note="dry run: nothing was injected, nothing was audited"))
        else:
            emit("auditing the target for residue")
            items = audit(driver, settings.residue_timeout_s)
            write_residue(residue_path, residue_document(items))

        outcome.signal = guard.signal_name
        outcome.signalled_at = guard.signalled_at
        outcome.stop_reason = guard.stop_reason
        outcome.residue = [i.to_dict() for i in items]
        outcome.residue_clean = not items and not sweep_errors
        outcome.failed_activities = _failed_runs(journal)
        outcome.faults = [r.to_run_json() for r in session.ledger.records()]
        outcome.planned = list(session.planned)
        before = (journal.get("steady_states") or {}).get("before")
        deviated = bool(journal.get("deviated")) or outcome.steady_after_rollbacks is False
        outcome.deviated = deviated

        if guard.interrupted or journal.get("status") == "interrupted":
            outcome.status = "interrupted"
        elif before is not None and not before.get("steady_state_met"):
            outcome.status = "aborted"  # not steady to begin with: nothing was injected
            outcome.messages.append("the steady state was not met before the method")
            outcome.deviated = False
        elif outcome.failed_activities or not outcome.residue_clean \
                or journal.get("status") in ("failed", "aborted"):
            outcome.status = "failed"
        else:
            outcome.status = "completed"
        if not outcome.residue_clean:
            outcome.messages.append("residue left behind: " + "; ".join(
                f"{i['kind']} {i['target']}" for i in outcome.residue) if outcome.residue
                else "the sweep could not undo every fault")

        extra.update(outcome.to_dict())
        extra["chaostoolkit_status"] = journal.get("status")
        _write(journal, extra, journal_path)
        return outcome


def _sweep(driver: Driver, session: RunSession, emit: Callable[[str], None]) -> list[str]:
    """Undo every fault still open in the ledger; the errors, if any."""
    errors: list[str] = []
    for record in session.ledger.open_records():
        emit(f"sweep: undoing {record.action} on {record.target} (still in place)")
        try:
            driver.undo(record)
        except Exception as exc:  # every failure is reported, the sweep goes on
            errors.append(f"could not undo {record.action} on {record.target}: {exc}")
    deadline = time.monotonic() + 10
    while not errors and session.ledger.open_records() and time.monotonic() < deadline:
        time.sleep(0.2)  # a background activity may still be removing its own fault
    return errors


def _write(journal: dict[str, Any], extra: dict[str, Any], path: Path) -> None:
    doc = dict(journal)
    doc["tradestorm"] = extra
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=2, default=str) + "\n")


def clean_target(
    *,
    target: str,
    configuration: Mapping[str, Any] | None = None,
    dry_run: bool = False,
    allowed_contexts: Sequence[str] = (),
    allowed_namespaces: Sequence[str] = (),
    state_dir: Path | None = None,
    say: Callable[[str], None] | None = None,
) -> tuple[list[str], list[ResidueItem]]:
    """Remove every fault this tool can find on ``target`` (e.g. after a chaos process was
    killed with SIGKILL), start a stopped database, then audit: (what was undone, residue left).

    On Kubernetes only objects labelled ``app.kubernetes.io/managed-by=tradestorm-chaos``
    are removed, under the same allow-lists as a run.
    """
    emit = say or (lambda line: print(line, flush=True))
    if target not in TARGETS:
        raise ExperimentInvalid("--target", "target", f"must be one of {', '.join(TARGETS)}")
    conf = {**dict(configuration or {}), "tradestorm_target": target}
    if state_dir is not None:
        conf["tradestorm_state_dir"] = str(state_dir)
    settings = ChaosSettings.from_configuration(conf)
    with _driver_session(settings, allowed_contexts, allowed_namespaces, dry_run,
                         emit) as (session, driver):
        guard = InterruptGuard(session, emit)
        with guard:
            guard.shield()  # a cleanup is never interrupted half-way
            done = list(driver.remove_faults(None))
            if driver.restore_database():
                done.append("database started")
            items = [] if dry_run else audit(driver, settings.residue_timeout_s)
        return done, items
