"""The run's load: started through the target's connection, its clock started when
Prometheus sees its client metrics, watched while the phases run, stopped after recovery."""

from __future__ import annotations

import time
from typing import Any

from promclient.errors import PrometheusError
from promclient.source import PrometheusSource
from tradestorm.runner.errors import StageError
from tradestorm.runner.run_state import RunState, shielded
from tradestorm.runner.scenario import Scenario
from tradestorm.targets import Connection, LoadRequest

# The load counts as started when Prometheus has its client metrics.
LOAD_VISIBLE_QUERY = "sum(tradestorm_client_requests_total{{{selector}}}) > 0"
LOAD_VISIBLE_TIMEOUT_S = 90.0


class LoadStage:
    """One load run of a scenario (``start``, ``wait_until``, ``stop``), in run.json's
    ``stages.load``."""

    def __init__(self, state: RunState, scenario: Scenario, connection: Connection,
                 processes: int | None = None) -> None:
        self.state = state
        self.scenario = scenario
        self.conn = connection
        self.processes = processes
        #: the target's handle on the running load (None: not started)
        self.run: Any = None

    def start(self) -> None:
        plan = self.scenario.phases
        # Profiles are shaped over the load's duration; give the experiment's own
        # checks and rollbacks room, the load is stopped explicitly after recovery.
        margin = LOAD_VISIBLE_TIMEOUT_S + (max(60.0, 0.5 * plan.total)
                                           if self.scenario.has_fault else 15.0)
        duration = plan.total + margin
        load = self.scenario.load
        self.state.say(f"load: {load.profile} profile, {load.users} users, seed {load.seed}, "
                       f"against {self.conn.gateway_url}")
        request = LoadRequest(
            profile=load.profile, users=load.users, seed=load.seed, rate=load.rate,
            duration_s=duration, processes=self.processes or load.processes,
            run_id=self.state.record.run_id.split("-", 1)[0][:24],  # the load's ids are short
            rate_stages=load.rate_stages(plan, duration), max_in_flight=load.max_in_flight,
            send_tick=load.send_tick,
        )
        try:
            self.run = self.conn.start_load(request, self.state.results_dir, self.state.say)
        except Exception as exc:  # noqa: BLE001 - the load part's errors, named
            raise StageError("load", f"cannot start the load: {exc}") from exc
        self.state.stage("load", started_at=time.time(), planned_duration_s=duration)
        self._wait_for_client_metrics()

    def _wait_for_client_metrics(self) -> None:
        """Start the clock when Prometheus sees the load, not when Locust was launched.

        Locust takes seconds to start and register its metrics; phases timed from
        the launch would judge a baseline with no client data in it.
        """
        state = self.state
        state.view.set_phase("starting load", LOAD_VISIBLE_TIMEOUT_S)
        deadline = time.monotonic() + LOAD_VISIBLE_TIMEOUT_S
        with PrometheusSource(self.conn.prometheus_url, timeout_s=2.0, workers=1) as source:
            while time.monotonic() < deadline:
                if not self.run.running:
                    raise StageError("load", "the load generator exited at once; see "
                                     f"{state.results_dir / 'logs' / 'locust.log'}")
                try:
                    query = LOAD_VISIBLE_QUERY.format(selector=self.run.metrics_selector)
                    if source.instant_query(query):
                        state.stage("load", visible_at=time.time())
                        return
                except PrometheusError:
                    pass
                time.sleep(0.5)
        state.record.errors.append("load: Prometheus showed no client metrics after "
                                   f"{LOAD_VISIBLE_TIMEOUT_S:.0f}s; client SLIs may have no data")
        state.say("[yellow]warning[/yellow]: Prometheus shows no client metrics yet; "
                  "going on (the client-side SLIs may have no data)")

    def wait_until(self, deadline: float) -> None:
        """Sleep until ``deadline`` (wall clock), watching that the load still runs."""
        while True:
            left = deadline - time.time()
            if left <= 0:
                return
            time.sleep(min(0.5, left))
            if self.run is not None and not self.run.running:
                raise StageError("load", "the load generator stopped before the run ended "
                                 f"(see {self.state.results_dir / 'logs'})")

    def stop(self) -> None:
        """Stop the load (not cut short by a signal); its exit and events in run.json."""
        if self.run is None:
            return
        state = self.state
        state.view.set_phase("stopping load", None)
        try:
            with shielded():
                code = self.run.stop()
            events = list(self.run.events)
            state.stage("load", ended_at=time.time(), exit_code=code, events=events)
            for event in events:
                state.say(f"[yellow]load[/yellow]: {event['kind']} {event['pod']} "
                          f"({event['detail']})")
            if code not in (0, None) and not state.interrupted:
                state.fail("load", f"the load generator exited with {code}")
        except Exception as exc:  # noqa: BLE001 - recorded; the wrap-up goes on
            state.fail("load", f"stopping the load failed: {exc}")
