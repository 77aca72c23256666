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
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape

from inputs.durations import format_duration
from promclient.errors import PrometheusError
from promclient.source import PrometheusSource
from runfolder.manifest import seal
from runfolder.record import PhaseRecord, RunRecord, write_json
from tradestorm.runner import versions as versions_mod
from tradestorm.runner.errors import StageError
from tradestorm.runner.progress import Progress, RunView
from tradestorm.runner.results import write_yaml
from tradestorm.runner.scenario import Scenario
from tradestorm.runner.tradingcalendar import TradingCalendar
from tradestorm.runner.watch import GuardrailWatch, Trip
from tradestorm.targets import Connection, LoadRequest

EXIT_PASS, EXIT_FAIL, EXIT_ERROR, EXIT_ABORTED, EXIT_INTERRUPTED = 0, 1, 2, 3, 130

# The load counts as started when Prometheus has its client metrics.
LOAD_VISIBLE_QUERY = "sum(tradestorm_client_requests_total{{{selector}}}) > 0"
LOAD_VISIBLE_TIMEOUT_S = 90.0


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


@contextlib.contextmanager
def _shielded() -> Iterator[None]:
    """Ignore SIGINT/SIGTERM while a cleanup that must finish runs."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old_int = signal.signal(signal.SIGINT, signal.SIG_IGN)
    old_term = signal.signal(signal.SIGTERM, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old_int)
        signal.signal(signal.SIGTERM, old_term)


class Orchestrator:
    """Runs one scenario against one connected target and writes its results folder."""

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
        self.console = console or Console()
        self.load_processes = load_processes
        self.reconcile_drain_s = reconcile_drain_s
        now = time.time()
        self.record = RunRecord(
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
        self.view = RunView(scenario=scenario.name, target=connection.target,
                            results_dir=results_dir, started_at=now)
        self.progress: Progress | None = None
        self.load_run: Any = None
        self.interrupted = False
        self.failed_reasons: list[str] = []
        self.experiment_outcome: Any = None
        # the Chaos Toolkit configuration the experiment runs with (the sweep reuses it)
        self.experiment_config: dict[str, Any] | None = None
        self.reconcile_ok: bool | None = None
        self.gate: Any = None
        self.report_path: Path | None = None
        # when the first SIGINT/SIGTERM arrived (contract §4: the open phase ends there)
        self.signalled_at: float | None = None
        self.allow_during_session = allow_during_session
        self.calendar: TradingCalendar | None = scenario.calendar
        self.watch = GuardrailWatch(
            conditions=list(scenario.guardrails), prometheus_url=connection.prometheus_url,
            spec=scenario.slo_spec, lever=lever if scenario.has_fault else None,
            calendar=None if allow_during_session else self.calendar,
            venues=list(scenario.venues) or None, interval_s=scenario.guardrail_interval_s,
            say=self.say)
        self._record_guardrails()

    # -- guardrails ------------------------------------------------------

    def _record_guardrails(self) -> None:
        """run.json ``stages.guardrails``: what watched the run, and what tripped (if any)."""
        calendar = None
        if self.calendar is not None:
            calendar = {"file": str(self.calendar.source), "venues": list(self.scenario.venues),
                        "sample": self.calendar.sample,
                        "allowed_during_session": self.allow_during_session}
        lever = self.watch.lever
        trip = self.watch.tripped
        ends = [f["end"] for f in self.record.faults if isinstance(f.get("end"), int | float)]
        if trip is not None and trip.fault_removed_at is None and ends:
            trip.fault_removed_at = max(ends)  # tripped after the fault was over
        self.record.stages["guardrails"] = {
            "conditions": [c.to_dict() for c in self.scenario.guardrails],
            "interval_s": self.scenario.guardrail_interval_s,
            "lever": getattr(lever, "path", None) and str(lever.path)
            or getattr(lever, "where", None),
            "calendar": calendar,
            "evaluations": self.watch.evaluations,
            "problems": list(self.watch.problems),
            "tripped": self.watch.tripped.to_dict() if self.watch.tripped else None,
        }

    @property
    def aborted(self) -> Trip | None:
        """The guardrail, lever or calendar window that stopped the run (None: none did)."""
        return self.watch.tripped

    def _calendar_refusal(self) -> Trip | None:
        """A protected window in force now: the fault must not start."""
        if self.calendar is None or self.allow_during_session:
            return None
        now = time.time()
        window = self.calendar.window_at(now, list(self.scenario.venues) or None)
        if window is None:
            return None
        return Trip("calendar", f"{window.venue} {window.name}",
                    f"the fault would start inside a protected window: {window.describe()}", now)

    # -- helpers ---------------------------------------------------------

    def say(self, message: str) -> None:
        if self.progress is not None:
            self.progress.say(message)
        else:
            self.console.print(message, highlight=False, soft_wrap=True)

    def _save(self) -> None:
        self.record.write(self.results_dir)

    def _stage(self, name: str, **info: Any) -> None:
        self.record.stages.setdefault(name, {}).update(info)

    def _fail(self, stage: str, problem: str) -> None:
        message = f"{stage}: {problem}"
        self.failed_reasons.append(message)
        self.record.errors.append(message)
        self._stage(stage, ok=False, error=problem)
        self.say(f"[red]error[/red] {message}")

    def _begin_phase(
        self, name: str, planned: float | None, start: float | None = None
    ) -> PhaseRecord:
        phase = PhaseRecord(name=name, start=start or time.time(), planned_seconds=planned)
        self.record.phases.append(phase)
        self.view.set_phase(name, planned, started=phase.start)
        self._save()
        return phase

    def _wait_until(self, deadline: float) -> None:
        """Sleep until ``deadline`` (wall clock), watching that the load still runs."""
        while True:
            left = deadline - time.time()
            if left <= 0:
                return
            time.sleep(min(0.5, left))
            if self.load_run is not None and not self.load_run.running:
                raise StageError("load", "the load generator stopped before the run ended "
                                 f"(see {self.results_dir / 'logs'})")

    # -- stages ----------------------------------------------------------

    def _write_inputs(self) -> dict[str, Any] | None:
        write_yaml(self.results_dir / "scenario.yaml", self.scenario.document)
        plan = self.scenario.plan
        if plan is None:
            return None
        # assembled once: where the target is (the connection), then the scenario's values
        config = plan.configuration(self.conn.chaos_configuration)
        self.experiment_config = config
        write_json(self.results_dir / "experiment.json", plan.as_run(self.conn.chaos_configuration))
        self.record.experiment = {
            "path": str(plan.path),
            "title": plan.document.get("title"),
            "configuration": config,
        }
        return config

    def _start_load(self) -> None:
        plan = self.scenario.phases
        # Profiles are shaped over the load's duration; give the experiment's own
        # checks and rollbacks room, the load is stopped explicitly after recovery.
        margin = LOAD_VISIBLE_TIMEOUT_S + (max(60.0, 0.5 * plan.total)
                                           if self.scenario.has_fault else 15.0)
        duration = plan.total + margin
        load = self.scenario.load
        self.say(f"load: {load.profile} profile, {load.users} users, seed {load.seed}, "
                 f"against {self.conn.gateway_url}")
        request = LoadRequest(
            profile=load.profile, users=load.users, seed=load.seed, rate=load.rate,
            duration_s=duration, processes=self.load_processes or load.processes,
            run_id=self.record.run_id.split("-", 1)[0][:24],  # the load's ids are short
            rate_stages=load.rate_stages(plan, duration), max_in_flight=load.max_in_flight,
            send_tick=load.send_tick,
        )
        try:
            self.load_run = self.conn.start_load(request, self.results_dir, self.say)
        except Exception as exc:  # noqa: BLE001 - the load part's errors, named
            raise StageError("load", f"cannot start the load: {exc}") from exc
        self._stage("load", started_at=time.time(), planned_duration_s=duration)
        self._wait_for_client_metrics()

    def _wait_for_client_metrics(self) -> None:
        """Start the clock when Prometheus sees the load, not when Locust was launched.

        Locust takes seconds to start and register its metrics; phases timed from
        the launch would judge a baseline with no client data in it.
        """
        self.view.set_phase("starting load", LOAD_VISIBLE_TIMEOUT_S)
        deadline = time.monotonic() + LOAD_VISIBLE_TIMEOUT_S
        with PrometheusSource(self.conn.prometheus_url, timeout_s=2.0, workers=1) as source:
            while time.monotonic() < deadline:
                if not self.load_run.running:
                    raise StageError("load", "the load generator exited at once; see "
                                     f"{self.results_dir / 'logs' / 'locust.log'}")
                try:
                    query = LOAD_VISIBLE_QUERY.format(selector=self.load_run.metrics_selector)
                    if source.instant_query(query):
                        self._stage("load", visible_at=time.time())
                        return
                except PrometheusError:
                    pass
                time.sleep(0.5)
        self.record.errors.append("load: Prometheus showed no client metrics after "
                                  f"{LOAD_VISIBLE_TIMEOUT_S:.0f}s; client SLIs may have no data")
        self.say("[yellow]warning[/yellow]: Prometheus shows no client metrics yet; "
                 "going on (the client-side SLIs may have no data)")

    def _run_experiment(self, config: dict[str, Any]) -> None:
        from tradestorm_chaos.execution import run_experiment

        assert self.scenario.plan is not None
        plan = self.scenario.phases
        refusal = self._calendar_refusal()
        if refusal is not None:
            # not a fault injected: the run ends after its baseline, aborted
            self.watch.tripped = refusal
            self.say(f"[red]not starting the fault[/red]: {refusal.reason}")
            baseline = self.record.phase("baseline")
            if baseline is not None:
                baseline.end = time.time()
            self._record_guardrails()
            self._save()
            return
        called = time.time()
        self.watch.start()
        fault = self._begin_phase("fault", plan.fault, start=called)
        self.view.set_phase("fault", plan.fault, started=called,
                            note="the experiment's rollbacks and steady-state checks")
        baseline = self.record.phase("baseline")
        if baseline is not None:
            baseline.end = called
        self._save()
        try:
            outcome = run_experiment(
                self.scenario.plan,
                configuration=config,
                journal_path=self.results_dir / "chaos-journal.json",
                residue_path=self.results_dir / "residue.json",
                **self.conn.chaos_options,
                say=lambda line: self.say(f"[dim]chaos[/dim] {escape(line)}"),
            )
        except KeyboardInterrupt:
            self.signalled_at = self.signalled_at or time.time()
            fault.end = self.signalled_at
            raise
        except Exception as exc:  # refused before anything was touched, or broke while running
            fault.end = time.time()
            raise StageError("experiment", f"{type(exc).__name__}: {exc}") from exc
        self.experiment_outcome = outcome
        returned = time.time()
        faults = list(getattr(outcome, "faults", None) or [])
        self.record.faults = faults
        self.record.experiment = {
            **(self.record.experiment or {}),
            "status": outcome.status,
            "deviated": bool(outcome.deviated),
            "residue_clean": bool(outcome.residue_clean),
            "started_at": called,
            "ended_at": returned,
        }
        starts = [f["start"] for f in faults if isinstance(f.get("start"), int | float)]
        ends = [f["end"] for f in faults if isinstance(f.get("end"), int | float)]
        if starts:
            first = min(starts)
            fault.start = max(first, called)
            if baseline is not None:
                baseline.end = fault.start
        fault_end = max([fault.start + plan.fault, *ends])
        trip = self.watch.tripped
        stopped = outcome.status == "interrupted" and trip is not None \
            and getattr(outcome, "stop_reason", None) is not None
        if trip is not None:
            trip.fault_removed_at = max(ends) if ends else returned
            self._record_guardrails()
        self._save()
        if stopped:
            # stopped by a guardrail, the lever or the calendar: the fault is removed and
            # rolled back; the load goes on and the recovery is still measured
            fault_end = max([trip.fault_removed_at or returned, fault.start])
        if outcome.status == "interrupted" and not stopped:
            # the fault phase ends at the signal, not after the rollbacks it triggered
            self.signalled_at = getattr(outcome, "signalled_at", None) or returned
            fault.end = max(fault.start, self.signalled_at)
            raise KeyboardInterrupt
        if outcome.status == "aborted" and not faults:
            fault.end = returned
            raise StageError("experiment", "aborted: the target was not in its steady state "
                             "before the fault, so nothing was injected; see "
                             f"{self.results_dir / 'chaos-journal.json'}")
        if outcome.deviated:
            # a resilience finding, not a broken run: it fails the verdict (see _finish)
            self.say("[red]the experiment's steady-state hypothesis deviated[/red]")
        elif outcome.status != "completed" and not stopped:
            self._fail("experiment", f"Chaos Toolkit reported '{outcome.status}' (the fault "
                       f"did not run as planned); see {self.results_dir / 'chaos-journal.json'}")
        if not outcome.residue_clean:
            self._fail("experiment", f"the experiment left residue behind; see "
                       f"{self.results_dir / 'residue.json'}")
        over = bool(ends) and max(ends) < time.time()
        self.view.set_phase("fault", fault_end - fault.start, started=fault.start,
                            note="stopped by a guardrail" if stopped else
                            "fault over, observing" if over else "")
        self._wait_until(fault_end)
        fault.end = max(fault_end, fault.start)
        recovery = self._begin_phase("recovery", plan.recovery, start=fault.end)
        self.view.set_phase("recovery", plan.recovery, started=fault.end)
        recovery_end = max(fault.end + plan.recovery, returned)
        self._wait_until(recovery_end)
        recovery.end = recovery_end

    def _run_phases(self) -> None:
        plan = self.scenario.phases
        config = self._write_inputs()
        self._start_load()
        warm = self._begin_phase("warmup", plan.warmup)
        self._wait_until(warm.start + plan.warmup)
        warm.end = time.time()
        baseline = self._begin_phase("baseline", plan.baseline, start=warm.end)
        # the judged run starts with the baseline; the warmup is recorded apart
        self.record.started_at = baseline.start
        self._wait_until(baseline.start + plan.baseline)
        if config is None:
            baseline.end = baseline.start + plan.baseline
            return
        self._run_experiment(config)

    def _stop_load(self) -> None:
        if self.load_run is None:
            return
        self.view.set_phase("stopping load", None)
        try:
            with _shielded():
                code = self.load_run.stop()
            events = list(self.load_run.events)
            self._stage("load", ended_at=time.time(), exit_code=code, events=events)
            for event in events:
                self.say(f"[yellow]load[/yellow]: {event['kind']} {event['pod']} "
                         f"({event['detail']})")
            if code not in (0, None) and not self.interrupted:
                self._fail("load", f"the load generator exited with {code}")
        except Exception as exc:  # noqa: BLE001 - recorded; the wrap-up goes on
            self._fail("load", f"stopping the load failed: {exc}")

    def _sweep_faults(self) -> None:
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

        removed: list[str] = []
        residue: list[dict[str, Any]] = []
        problems: list[str] = []
        with _shielded():
            try:
                done, items = clean_target(
                    configuration=(self.experiment_config
                                   or {**self.conn.chaos_configuration,
                                       **self.scenario.configuration}),
                    **self.conn.chaos_options,
                    say=lambda line: self.say(f"[dim]sweep[/dim] {escape(line)}"),
                )
                removed = list(done)
                residue = [item.to_dict() for item in items]
            except Exception as exc:  # noqa: BLE001 - recorded: an unchecked target fails the run
                problems.append(f"{type(exc).__name__}: {exc}")
        ok = not (removed or residue or problems)
        self._stage("fault_sweep", removed=removed, residue=residue, problems=problems, ok=ok)
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
        self._fail("fault_sweep", "; ".join(parts))

    def _optional(self, stage: str, fn: Callable[[], None]) -> None:
        """A wrap-up stage: an error is recorded and the next stage still runs."""
        if self._hurry:
            self._stage(stage, skipped="second interrupt")
            return
        self.view.set_phase(stage, None)
        started = time.time()
        try:
            fn()
            self._stage(stage, ok=self.record.stages.get(stage, {}).get("ok", True),
                        seconds=round(time.time() - started, 3))
        except KeyboardInterrupt:
            self._hurry = True
            self.interrupted = True
            self._stage(stage, skipped="interrupted")
            self.say(f"interrupted again: skipping {stage} and the rest of the wrap-up")
        except Exception as exc:  # noqa: BLE001 - recorded, the run goes on to the next stage
            self._fail(stage, f"{type(exc).__name__}: {exc}")
            (self.results_dir / "logs").mkdir(exist_ok=True)
            with (self.results_dir / "logs" / "runner.log").open("a", encoding="utf-8") as log:
                log.write(f"--- {stage}\n{traceback.format_exc()}\n")

    def _reconcile(self) -> None:
        from loadtests.reconcile import reconcile, write_result

        journal = self.results_dir / "journal"
        drain = 10.0 if self.interrupted else self.reconcile_drain_s
        self.say("reconciling the order journal with the database")
        result = reconcile(self.conn.dsn, journal, outbox_drain_timeout_s=drain)
        write_result(result, self.results_dir)
        self.reconcile_ok = bool(result.ok)
        summary = result.to_dict()
        self._stage("reconcile", ok=self.reconcile_ok, acknowledged=summary.get("acknowledged"))

    def _timeseries(self) -> None:
        from slo.timeseries import export_timeseries

        end = self.record.ended_at or time.time()
        warmup = self.record.phase("warmup")
        start = min(self.record.started_at, warmup.start if warmup else self.record.started_at)
        if end <= start:
            raise StageError("timeseries", "the run ended before it started: nothing to export")
        guardrails = [p for c in self.scenario.guardrails for p in c.panels()]
        export_timeseries(self.conn.prometheus_url, start, end,
                          self.results_dir / "timeseries.json", extra=guardrails)

    def _gate(self) -> None:
        from slo.gate import evaluate_run

        # the gate judges run.json (the experiment, every stage so far): save it first
        self.record.status = self._status()
        self._save()
        self.gate = evaluate_run(self.results_dir, spec=self.scenario.slo_spec,
                                 prometheus_url=self.conn.prometheus_url)
        self._stage("gate", verdict=self.gate.verdict, exit_code=self.gate.exit_code)

    def _report(self) -> None:
        from reports.build import build_report

        self.report_path = build_report(self.results_dir)

    # -- the run ---------------------------------------------------------

    def run(self) -> RunOutcome:
        self._hurry = False
        self._save()
        history = self.results_dir / "locust_stats_history.csv"
        with _sigterm_as_interrupt(), Progress(self.view, self.console, self.conn.prometheus_url,
                                               history) as progress:
            self.progress = progress
            try:
                # inside the try: a Ctrl-C here is an interrupted run (exit 130), not a crash
                self.record.versions = versions_mod.collect_versions(
                    self.conn.prometheus_url, self.conn.dsn
                )
                self._save()
                self._run_phases()
            except KeyboardInterrupt:
                self.interrupted = True
                self.signalled_at = self.signalled_at or time.time()
                self.record.interrupted_at = self.signalled_at
                self.say("[yellow]interrupted[/yellow]: stopping the load and rolling back; "
                         "the results so far are kept")
            except StageError as exc:
                self._fail(exc.stage, exc.problem)
            except Exception as exc:  # noqa: BLE001 - a broken part must not lose the results
                self._fail("run", f"{type(exc).__name__}: {exc}")
                with (self.results_dir / "logs" / "runner.log").open("a", encoding="utf-8") as log:
                    log.write(traceback.format_exc())
            finally:
                # shielded as a whole: a second Ctrl-C (or SIGTERM) must neither leave the
                # load generator (its own session) running nor run.json at "running"
                with _shielded():
                    self.watch.stop()
                    self._record_guardrails()
                    now = time.time()
                    # an open phase ends at the interruption, not after the rollbacks
                    cut = self.signalled_at if self.interrupted and self.signalled_at else now
                    for phase in self.record.phases:
                        if phase.end is None:
                            phase.end = max(cut, phase.start)
                    self.record.ended_at = now
                    self._stop_load()
                    self._sweep_faults()
                    # the gate reads it: a completed run's missing phases are "not
                    # applicable", an interrupted or failed run cannot pass
                    self.record.status = self._status()
                    self._save()
            try:
                # the last samples scraped and their recording rules evaluated
                settle = self.conn.settle_s
                self.view.set_phase("settling", settle)
                time.sleep(settle if not self.interrupted else 1.0)
            except KeyboardInterrupt:
                self.interrupted = True
                self._hurry = True
                self.say("interrupted again: skipping the rest of the wrap-up")
            self._optional("reconcile", self._reconcile)
            self._optional("timeseries", self._timeseries)
            self._optional("gate", self._gate)
            self._optional("report", self._report)
            self.progress = None
        return self._finish()

    def _status(self) -> str:
        if self.interrupted:
            return "interrupted"
        if self.aborted is not None:
            return "aborted"
        return "failed" if self.failed_reasons else "completed"

    def _finish(self) -> RunOutcome:
        """The run's outcome: the gate's verdict, which judged run.json's experiment and
        stages too (slo/verdict.py), so every output says the same thing."""
        reasons = list(self.failed_reasons)
        if self.gate is not None and "report" in self.record.stages \
                and self.record.stages["report"].get("ok") is False:
            # a stage failed after the gate judged: judge again so slo.json says so too
            self.record.status = self._status()
            self._save()
            self._optional("gate", self._gate)
        if self.gate is not None:
            verdict = str(self.gate.verdict)
            exit_code = int(self.gate.exit_code)
            reasons += [r for r in self.gate.reasons if r not in reasons]
        else:
            verdict = "error"
            exit_code = EXIT_ERROR
            reasons.append("the SLO gate did not run, there is no verdict")
        status = self._status()
        if self.interrupted:
            exit_code = EXIT_INTERRUPTED
        self.record.status = status
        self.record.verdict = verdict
        self.record.exit_code = exit_code
        self._save()
        if self.gate is not None:
            try:  # the folder as it is now is what `tradestorm verify` checks
                seal(self.results_dir)
            except OSError as exc:
                reasons.append(f"the results folder could not be sealed: {exc}")
        report = self.report_path if self.report_path and self.report_path.exists() else None
        return RunOutcome(results_dir=self.results_dir, status=status, verdict=verdict,
                          exit_code=exit_code, report=report, reasons=reasons, record=self.record)


def describe_plan(scenario: Scenario) -> str:
    plan = scenario.phases
    parts = [f"warmup {format_duration(plan.warmup)}",
             f"baseline {format_duration(plan.baseline)}"]
    if scenario.has_fault:
        parts += [f"fault {format_duration(plan.fault)}",
                  f"recovery {format_duration(plan.recovery)}"]
    return ", ".join(parts)
