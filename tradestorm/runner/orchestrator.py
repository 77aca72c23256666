"""One run of a scenario, from load start to verdict.

::

    warmup ─▶ baseline ─▶ fault (the experiment) ─▶ recovery ─▶ stop load
        └─ reconcile ─▶ Prometheus snapshot ─▶ SLO gate ─▶ report

The parts are reached only through their entry points (docs/contracts.md §5).
The experiment runs in the main thread (Chaos Toolkit installs its signal
handlers there and rolls back on Ctrl-C); the progress display polls
Prometheus from a background thread.

Phases in ``run.json`` carry the real times: the fault phase starts when the
first fault was injected (from the experiment's own record) and lasts at least
its planned length, and longer when the experiment's faults lasted longer;
recovery starts when the last fault ended.

Ctrl-C (or SIGTERM) at any point stops the load, lets the experiment roll back,
checks that no fault is left (and removes any it finds, recording it), then
still reconciles, snapshots Prometheus, evaluates the SLOs and builds the
report from what exists, with ``status: interrupted`` and exit code 130. A
second Ctrl-C skips what is left of that wrap-up, but never the load stop, the
fault sweep or taking down a target the run started.
"""

from __future__ import annotations

import contextlib
import signal
import threading
import time
import traceback
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console

from inputs.durations import format_duration
from runfolder.manifest import seal
from runfolder.record import RunRecord
from tradestorm.runner import versions as versions_mod
from tradestorm.runner.errors import StageError
from tradestorm.runner.experiment_stage import ExperimentStage
from tradestorm.runner.guardrail_stage import Guardrails
from tradestorm.runner.load_stage import LoadStage
from tradestorm.runner.progress import Progress, RunView
from tradestorm.runner.run_state import RunState, shielded
from tradestorm.runner.scenario import Scenario
from tradestorm.runner.watch import Trip
from tradestorm.runner.wrapup import WrapUp
from tradestorm.targets import Connection

EXIT_PASS, EXIT_FAIL, EXIT_ERROR, EXIT_ABORTED, EXIT_INTERRUPTED = 0, 1, 2, 3, 130


@dataclass
class RunOutcome:
    """What ``tradestorm run`` prints at the end and exits with."""

    results_dir: Path
    status: str
    verdict: str
    exit_code: int
    report: Path | None
    reasons: list[str] = field(default_factory=list)
    record: RunRecord | None = None


class _Interrupted(Exception):
    """Raised in the main thread when the run is asked to stop (SIGINT/SIGTERM)."""


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM (CI cancelling a job) stops a run like Ctrl-C does."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGTERM)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


class Orchestrator:
    """Runs one scenario against one connected target and writes its results folder.

    The stages are parts of their own (``load_stage``, ``guardrail_stage``,
    ``experiment_stage``, ``wrapup``), each writing through the run's ``RunState``;
    this class puts them in order and makes the outcome."""

    def __init__(
        self,
        scenario: Scenario,
        connection: Connection,
        results_dir: Path,
        run_id: str,
        *,
        console: Console | None = None,
        load_processes: int | None = None,
        reconcile_drain_s: float = 30.0,
        lever: Any = None,
        allow_during_session: bool = False,
    ) -> None:
        self.scenario = scenario
        self.conn = connection
        self.results_dir = results_dir
        now = time.time()
        record = RunRecord(
            run_id=run_id,
            scenario=scenario.name,
            target=connection.target,
            started_at=now,
            load={**scenario.load.to_dict()},
            prometheus_url=connection.prometheus_url,
            description=scenario.description,
            scenario_file=str(scenario.source),
            slo_spec=str(scenario.slo_spec),
            target_started_by_run=connection.started_by_run,
        )
        view = RunView(scenario=scenario.name, target=connection.target,
                       results_dir=results_dir, started_at=now)
        self.state = RunState(record, results_dir, view, console or Console())
        self.load = LoadStage(self.state, scenario, connection, load_processes)
        self.guardrails = Guardrails(self.state, scenario, connection, lever=lever,
                                     allow_during_session=allow_during_session)
        self.experiment = ExperimentStage(self.state, scenario, connection, self.guardrails,
                                          self.load)
        self.wrapup = WrapUp(self.state, scenario, connection, self.experiment, self._status,
                             reconcile_drain_s=reconcile_drain_s)

    @property
    def record(self) -> RunRecord:
        return self.state.record

    @property
    def aborted(self) -> Trip | None:
        """The guardrail, lever or calendar window that stopped the run (None: none did)."""
        return self.guardrails.tripped

    def _run_phases(self) -> None:
        plan = self.scenario.phases
        state = self.state
        config = self.experiment.write_inputs()
        self.load.start()
        warm = state.begin_phase("warmup", plan.warmup)
        self.load.wait_until(warm.start + plan.warmup)
        warm.end = time.time()
        baseline = state.begin_phase("baseline", plan.baseline, start=warm.end)
        # the judged run starts with the baseline; the warmup is recorded apart
        state.record.started_at = baseline.start
        self.load.wait_until(baseline.start + plan.baseline)
        if config is None:
            baseline.end = baseline.start + plan.baseline
            return
        self.experiment.run(config)

    def run(self) -> RunOutcome:
        state, wrapup = self.state, self.wrapup
        state.save()
        history = self.results_dir / "locust_stats_history.csv"
        with _sigterm_as_interrupt(), Progress(state.view, state.console, self.conn.prometheus_url,
                                               history) as progress:
            state.progress = progress
            try:
                # inside the try: a Ctrl-C here is an interrupted run (exit 130), not a crash
                state.record.versions = versions_mod.collect_versions(
                    self.conn.prometheus_url, self.conn.dsn
                )
                state.save()
                self._run_phases()
            except KeyboardInterrupt:
                state.interrupted = True
                state.signalled_at = state.signalled_at or time.time()
                state.record.interrupted_at = state.signalled_at
                state.say("[yellow]interrupted[/yellow]: stopping the load and rolling back; "
                          "the results so far are kept")
            except StageError as exc:
                state.fail(exc.stage, exc.problem)
            except Exception as exc:  # noqa: BLE001 - a broken part must not lose the results
                state.fail("run", f"{type(exc).__name__}: {exc}")
                with (self.results_dir / "logs" / "runner.log").open("a", encoding="utf-8") as log:
                    log.write(traceback.format_exc())
            finally:
                # shielded as a whole: a second Ctrl-C (or SIGTERM) must neither leave the
                # load generator (its own session) running nor run.json at "running"
                with shielded():
                    self._close_phases()
                    self.load.stop()
                    wrapup.sweep_faults()
                    # the gate reads it: a completed run's missing phases are "not
                    # applicable", an interrupted or failed run cannot pass
                    state.record.status = self._status()
                    state.save()
            try:
                # the last samples scraped and their recording rules evaluated
                settle = self.conn.settle_s
                state.view.set_phase("settling", settle)
                time.sleep(settle if not state.interrupted else 1.0)
            except KeyboardInterrupt:
                state.interrupted = True
                wrapup.hurry = True
                state.say("interrupted again: skipping the rest of the wrap-up")
            wrapup.optional("reconcile", wrapup.reconcile)
            wrapup.optional("timeseries", wrapup.timeseries)
            wrapup.optional("gate", wrapup.gate)
            wrapup.optional("report", wrapup.report)
            state.progress = None
        return self._finish()

    def _close_phases(self) -> None:
        """The guardrails' record, and every open phase ended: at the interruption, not
        after the rollbacks it triggered; the run's end."""
        state = self.state
        self.guardrails.watch.stop()
        self.guardrails.record()
        now = time.time()
        cut = state.signalled_at if state.interrupted and state.signalled_at else now
        for phase in state.record.phases:
            if phase.end is None:
                phase.end = max(cut, phase.start)
        state.record.ended_at = now

    def _status(self) -> str:
        if self.state.interrupted:
            return "interrupted"
        if self.aborted is not None:
            return "aborted"
        return "failed" if self.state.failed_reasons else "completed"

    def _finish(self) -> RunOutcome:
        """The run's outcome: the gate's verdict, which judged run.json's experiment and
        stages too (slo/verdict.py), so every output says the same thing."""
        state, wrapup, record = self.state, self.wrapup, self.state.record
        reasons = list(state.failed_reasons)
        if wrapup.gate_result is not None and "report" in record.stages \
                and record.stages["report"].get("ok") is False:
            # a stage failed after the gate judged: judge again so slo.json says so too
            record.status = self._status()
            state.save()
            wrapup.optional("gate", wrapup.gate)
        gate = wrapup.gate_result
        if gate is not None:
            verdict = str(gate.verdict)
            exit_code = int(gate.exit_code)
            reasons += [r for r in gate.reasons if r not in reasons]
        else:
            verdict = "error"
            exit_code = EXIT_ERROR
            reasons.append("the SLO gate did not run, there is no verdict")
        status = self._status()
        if state.interrupted:
            exit_code = EXIT_INTERRUPTED
        record.status = status
        record.verdict = verdict
        record.exit_code = exit_code
        state.save()
        if gate is not None:
            try:  # the folder as it is now is what `tradestorm verify` checks
                seal(self.results_dir)
            except OSError as exc:
                reasons.append(f"the results folder could not be sealed: {exc}")
        report = wrapup.report_path if wrapup.report_path and wrapup.report_path.exists() \
            else None
        return RunOutcome(results_dir=self.results_dir, status=status, verdict=verdict,
                          exit_code=exit_code, report=report, reasons=reasons, record=record)


def describe_plan(scenario: Scenario) -> str:
    plan = scenario.phases
    parts = [f"warmup {format_duration(plan.warmup)}",
             f"baseline {format_duration(plan.baseline)}"]
    if scenario.has_fault:
        parts += [f"fault {format_duration(plan.fault)}",
                  f"recovery {format_duration(plan.recovery)}"]
    return ", ".join(parts)
