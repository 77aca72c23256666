"""A run's wrap-up, after the load stopped: the runner's own check that no fault outlives
the experiment, then reconcile, the Prometheus snapshot, the SLO gate and the report.

The sweep is never skipped nor cut short by a signal. Each later stage is optional: an
error is recorded (run.json, ``logs/runner.log``) and the next stage still runs; a second
Ctrl-C skips what is left (``hurry``)."""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.markup import escape

from tradestorm.runner.errors import StageError
from tradestorm.runner.experiment_stage import ExperimentStage
from tradestorm.runner.run_state import RunState, shielded
from tradestorm.runner.scenario import Scenario
from tradestorm.targets import Connection


class WrapUp:
    def __init__(self, state: RunState, scenario: Scenario, connection: Connection,
                 experiment: ExperimentStage, status: Callable[[], str], *,
                 reconcile_drain_s: float = 30.0) -> None:
        self.state = state
        self.scenario = scenario
        self.conn = connection
        self.experiment = experiment
        #: the run's status as it stands (saved in run.json before the gate reads it)
        self.status = status
        self.reconcile_drain_s = reconcile_drain_s
        #: a second Ctrl-C: skip what is left of the wrap-up
        self.hurry = False
        self.reconcile_ok: bool | None = None
        self.gate_result: Any = None
        self.report_path: Path | None = None

    def sweep_faults(self) -> None:
        """After the experiment: make sure no fault outlives it.

        The experiment rolls back and audits residue itself; this is the
        runner's independent check, ``tradestorm chaos clean`` on the target
        the run used (``tradestorm_chaos.execution.clean_target``: every fault the
        chaos tool can find removed, a stopped database started, then the
        residue audit). Anything it had to undo, any residue it could not
        remove, and a sweep that could not run at all fail the run.
        """
        if not self.scenario.has_fault:
            return
        from tradestorm_chaos.execution import clean_target

        state = self.state
        removed: list[str] = []
        residue: list[dict[str, Any]] = []
        problems: list[str] = []
        with shielded():
            try:
                done, items = clean_target(
                    configuration=(self.experiment.config
                                   or {**self.conn.chaos_configuration,
                                       **self.scenario.configuration}),
                    **self.conn.chaos_options,
                    say=lambda line: state.say(f"[dim]sweep[/dim] {escape(line)}"),
                )
                removed = list(done)
                residue = [item.to_dict() for item in items]
            except Exception as exc:  # noqa: BLE001 - recorded: an unchecked target fails the run
                problems.append(f"{type(exc).__name__}: {exc}")
        ok = not (removed or residue or problems)
        state.stage("fault_sweep", removed=removed, residue=residue, problems=problems, ok=ok)
        if ok:
            return
        parts = []
        if removed:
            parts.append("faults outlived the experiment and were removed by the runner: "
                         + ", ".join(removed))
        if residue:
            parts.append("residue the runner could not remove: " + "; ".join(
                f"{i.get('kind')} on {i.get('target')} ({i.get('detail')})" for i in residue))
        if problems:
            parts.append("the target could not be checked for leftover faults: "
                         + "; ".join(problems))
        state.fail("fault_sweep", "; ".join(parts))

    def optional(self, stage: str, fn: Callable[[], None]) -> None:
        """A wrap-up stage: an error is recorded and the next stage still runs."""
        state = self.state
        if self.hurry:
            state.stage(stage, skipped="second interrupt")
            return
        state.view.set_phase(stage, None)
        started = time.time()
        try:
            fn()
            state.stage(stage, ok=state.record.stages.get(stage, {}).get("ok", True),
                        seconds=round(time.time() - started, 3))
        except KeyboardInterrupt:
            self.hurry = True
            state.interrupted = True
            state.stage(stage, skipped="interrupted")
            state.say(f"interrupted again: skipping {stage} and the rest of the wrap-up")
        except Exception as exc:  # noqa: BLE001 - recorded, the run goes on to the next stage
            state.fail(stage, f"{type(exc).__name__}: {exc}")
            (state.results_dir / "logs").mkdir(exist_ok=True)
            with (state.results_dir / "logs" / "runner.log").open("a", encoding="utf-8") as log:
                log.write(f"--- {stage}\n{traceback.format_exc()}\n")

    def reconcile(self) -> None:
        from loadtests.reconcile import reconcile, write_result

        state = self.state
        journal = state.results_dir / "journal"
        drain = 10.0 if state.interrupted else self.reconcile_drain_s
        state.say("reconciling the order journal with the database")
        result = reconcile(self.conn.dsn, journal, outbox_drain_timeout_s=drain)
        write_result(result, state.results_dir)
        self.reconcile_ok = bool(result.ok)
        summary = result.to_dict()
        state.stage("reconcile", ok=self.reconcile_ok, acknowledged=summary.get("acknowledged"))

    def timeseries(self) -> None:
        from slo.timeseries import export_timeseries

        record = self.state.record
        end = record.ended_at or time.time()
        warmup = record.phase("warmup")
        start = min(record.started_at, warmup.start if warmup else record.started_at)
        if end <= start:
            raise StageError("timeseries", "the run ended before it started: nothing to export")
        guardrails = [p for c in self.scenario.guardrails for p in c.panels()]
        export_timeseries(self.conn.prometheus_url, start, end,
                          self.state.results_dir / "timeseries.json", extra=guardrails)

    def gate(self) -> None:
        from slo.gate import evaluate_run

        state = self.state
        # the gate judges run.json (the experiment, every stage so far): save it first
        state.record.status = self.status()
        state.save()
        self.gate_result = evaluate_run(state.results_dir, spec=self.scenario.slo_spec,
                                        prometheus_url=self.conn.prometheus_url)
        state.stage("gate", verdict=self.gate_result.verdict,
                    exit_code=self.gate_result.exit_code)

    def report(self) -> None:
        from reports.build import build_report

        self.report_path = build_report(self.state.results_dir)
