"""The run's experiment: its inputs written to the results folder, then the fault phase
(the Chaos Toolkit experiment, in the main thread) and the recovery phase.

The fault phase starts when the first fault was injected (from the experiment's own
record) and lasts at least its planned length, and longer when the experiment's faults
lasted longer; recovery starts when the last fault ended. A trading-calendar window in
force refuses the fault (the run ends after its baseline, aborted); a guardrail, the lever
or a window that opens stops it early, and the recovery is still measured."""

from __future__ import annotations

import time
from typing import Any

from rich.markup import escape

from runfolder.record import write_json
from tradestorm.runner.errors import StageError
from tradestorm.runner.guardrail_stage import Guardrails
from tradestorm.runner.load_stage import LoadStage
from tradestorm.runner.results import write_yaml
from tradestorm.runner.run_state import RunState
from tradestorm.runner.scenario import Scenario
from tradestorm.targets import Connection


class ExperimentStage:
    def __init__(self, state: RunState, scenario: Scenario, connection: Connection,
                 guardrails: Guardrails, load: LoadStage) -> None:
        self.state = state
        self.scenario = scenario
        self.conn = connection
        self.guardrails = guardrails
        self.load = load
        #: the Chaos Toolkit configuration the experiment runs with (the sweep reuses it)
        self.config: dict[str, Any] | None = None
        #: what ``run_experiment`` returned (None: it did not return)
        self.outcome: Any = None

    def write_inputs(self) -> dict[str, Any] | None:
        """scenario.yaml and experiment.json in the results folder; the experiment's
        configuration (None: the scenario has no experiment)."""
        state = self.state
        write_yaml(state.results_dir / "scenario.yaml", self.scenario.document)
        plan = self.scenario.plan
        if plan is None:
            return None
        # assembled once: where the target is (the connection), then the scenario's values
        config = plan.configuration(self.conn.chaos_configuration)
        self.config = config
        write_json(state.results_dir / "experiment.json",
                   plan.as_run(self.conn.chaos_configuration))
        state.record.experiment = {
            "path": str(plan.path),
            "title": plan.document.get("title"),
            "configuration": config,
        }
        return config

    def run(self, config: dict[str, Any]) -> None:
        """The fault phase, then the recovery phase (the baseline phase is open)."""
        from tradestorm_chaos.execution import run_experiment

        assert self.scenario.plan is not None
        state, record = self.state, self.state.record
        plan = self.scenario.phases
        refusal = self.guardrails.calendar_refusal()
        if refusal is not None:
            # not a fault injected: the run ends after its baseline, aborted
            self.guardrails.watch.tripped = refusal
            state.say(f"[red]not starting the fault[/red]: {refusal.reason}")
            baseline = record.phase("baseline")
            if baseline is not None:
                baseline.end = time.time()
            self.guardrails.record()
            state.save()
            return
        called = time.time()
        self.guardrails.watch.start()
        fault = state.begin_phase("fault", plan.fault, start=called)
        state.view.set_phase("fault", plan.fault, started=called,
                             note="the experiment's rollbacks and steady-state checks")
        baseline = record.phase("baseline")
        if baseline is not None:
            baseline.end = called
        state.save()
        try:
            outcome = run_experiment(
                self.scenario.plan,
                configuration=config,
                journal_path=state.results_dir / "chaos-journal.json",
                residue_path=state.results_dir / "residue.json",
                **self.conn.chaos_options,
                say=lambda line: state.say(f"[dim]chaos[/dim] {escape(line)}"),
            )
        except KeyboardInterrupt:
            state.signalled_at = state.signalled_at or time.time()
            fault.end = state.signalled_at
            raise
        except Exception as exc:  # refused before anything was touched, or broke while running
            fault.end = time.time()
            raise StageError("experiment", f"{type(exc).__name__}: {exc}") from exc
        self.outcome = outcome
        returned = time.time()
        faults = list(getattr(outcome, "faults", None) or [])
        record.faults = faults
        record.experiment = {
            **(record.experiment or {}),
            "status": outcome.status,
            "deviated": bool(outcome.deviated),
            "residue_clean": bool(outcome.residue_clean),
            "started_at": called,
            "ended_at": returned,
        }
        starts = [f["start"] for f in faults if isinstance(f.get("start"), int | float)]
        ends = [f["end"] for f in faults if isinstance(f.get("end"), int | float)]
        if starts:
            fault.start = max(min(starts), called)
            if baseline is not None:
                baseline.end = fault.start
        fault_end = max([fault.start + plan.fault, *ends])
        trip = self.guardrails.tripped
        stopped = outcome.status == "interrupted" and trip is not None \
            and getattr(outcome, "stop_reason", None) is not None
        if trip is not None:
            trip.fault_removed_at = max(ends) if ends else returned
            self.guardrails.record()
        state.save()
        if stopped:
            # stopped by a guardrail, the lever or the calendar: the fault is removed and
            # rolled back; the load goes on and the recovery is still measured
            assert trip is not None
            fault_end = max([trip.fault_removed_at or returned, fault.start])
        if outcome.status == "interrupted" and not stopped:
            # the fault phase ends at the signal, not after the rollbacks it triggered
            state.signalled_at = getattr(outcome, "signalled_at", None) or returned
            fault.end = max(fault.start, state.signalled_at)
            raise KeyboardInterrupt
        if outcome.status == "aborted" and not faults:
            fault.end = returned
            raise StageError("experiment", "aborted: the target was not in its steady state "
                             "before the fault, so nothing was injected; see "
                             f"{state.results_dir / 'chaos-journal.json'}")
        self._judge(outcome, stopped)
        over = bool(ends) and max(ends) < time.time()
        state.view.set_phase("fault", fault_end - fault.start, started=fault.start,
                             note="stopped by a guardrail" if stopped else
                             "fault over, observing" if over else "")
        self.load.wait_until(fault_end)
        fault.end = max(fault_end, fault.start)
        recovery = state.begin_phase("recovery", plan.recovery, start=fault.end)
        state.view.set_phase("recovery", plan.recovery, started=fault.end)
        recovery_end = max(fault.end + plan.recovery, returned)
        self.load.wait_until(recovery_end)
        recovery.end = recovery_end

    def _judge(self, outcome: Any, stopped: bool) -> None:
        """What the experiment's own outcome says about the run."""
        state = self.state
        if outcome.deviated:
            # a resilience finding, not a broken run: it fails the verdict (slo/verdict.py)
            state.say("[red]the experiment's steady-state hypothesis deviated[/red]")
        elif outcome.status != "completed" and not stopped:
            state.fail("experiment", f"Chaos Toolkit reported '{outcome.status}' (the fault "
                       f"did not run as planned); see {state.results_dir / 'chaos-journal.json'}")
        if not outcome.residue_clean:
            state.fail("experiment", f"the experiment left residue behind; see "
                       f"{state.results_dir / 'residue.json'}")
