"""The run's guardrail watch: stop conditions, the safety lever and the trading calendar,
polled from a background thread from the start of the fault to the end of recovery.

The first of them to trip stops the experiment through the chaos part's own
interrupt path (``tradestorm_chaos.session.stop_current_run``: the held fault is
released at once, the rollbacks run); the runner keeps the load going through
the recovery phase and ends the run ``aborted``. Only the first trip counts.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from promclient.source import PrometheusSource
from tradestorm.lever import Lever
from tradestorm.runner.guardrails import ConditionTracker, StopCondition
from tradestorm.runner.tradingcalendar import TradingCalendar


@dataclass
class Trip:
    """Why and when the run was stopped (run.json ``stages.guardrails.tripped``)."""

    kind: str  # "condition" | "lever" | "calendar"
    name: str
    reason: str
    tripped_at: float
    value: float | None = None
    threshold: str | None = None
    for_s: float | None = None
    condition_true_at: float | None = None
    stop_requested_at: float | None = None  # when the experiment was asked to stop
    fault_removed_at: float | None = None  # filled in by the runner from the fault ledger

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class GuardrailWatch:
    """Polls every ``interval_s`` in a daemon thread; ``tripped`` is set once something trips."""

    def __init__(self, *, conditions: list[StopCondition], prometheus_url: str, spec: Path,
                 lever: Lever | None = None, calendar: TradingCalendar | None = None,
                 venues: list[str] | None = None, interval_s: float = 1.0,
                 say: Callable[[str], None] = print) -> None:
        self.trackers = [ConditionTracker(c, prometheus_url, spec) for c in conditions]
        self.url = prometheus_url
        self.lever = lever
        self.calendar = calendar
        self.venues = venues
        self.interval_s = interval_s
        self.say = say
        self.tripped: Trip | None = None
        self.evaluations = 0
        self.problems: list[str] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def active(self) -> bool:
        return bool(self.trackers or self.lever or self.calendar)

    def start(self) -> None:
        if self._thread is None and self.active:
            self._thread = threading.Thread(target=self._loop, name="guardrails", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _loop(self) -> None:
        with PrometheusSource(self.url, timeout_s=max(0.9, self.interval_s), workers=1) as source:
            while not self._stop.is_set():
                started = time.monotonic()
                if self.tripped is None:
                    try:
                        self.tripped = self.check(source, time.time())
                    except Exception as exc:  # noqa: BLE001 - a broken check must not kill the watch
                        if len(self.problems) < 20:
                            self.problems.append(f"{type(exc).__name__}: {exc}")
                if self.tripped is not None and self.tripped.stop_requested_at is None:
                    self._deliver(self.tripped)
                self._stop.wait(max(0.0, self.interval_s - (time.monotonic() - started)))

    def _deliver(self, trip: Trip) -> None:
        from tradestorm_chaos.session import stop_current_run

        if stop_current_run(f"{trip.kind} {trip.name} tripped: {trip.reason}"):
            trip.stop_requested_at = time.time()

    def check(self, source: PrometheusSource, now: float) -> Trip | None:
        """One evaluation of everything; the trip, if something trips now."""
        self.evaluations += 1
        if self.lever is not None:
            state = self.lever.read()
            if state.engaged:
                return self._trip(Trip("lever", "safety lever", state.describe(), now))
        if self.calendar is not None:
            window = self.calendar.window_at(now, self.venues)
            if window is not None:
                return self._trip(Trip("calendar", f"{window.venue} {window.name}",
                                       f"protected window began: {window.describe()}", now))
        for tracker in self.trackers:
            if tracker.update(source, now):
                c = tracker.condition
                value = tracker.last.value if tracker.last else None
                threshold = (f"> {c.above:g}" if c.above is not None else
                             f"< {c.below:g}" if c.below is not None else "objective fails")
                shown = "n/a" if value is None else f"{value:.4g}"
                return self._trip(Trip(
                    "condition", c.name, f"{c.describe()} (value {shown})", now, value=value,
                    threshold=threshold, for_s=c.for_s, condition_true_at=tracker.true_since))
        return None

    def _trip(self, trip: Trip) -> Trip:
        self.say(f"[red]guardrail tripped[/red]: {trip.kind} {trip.name}: {trip.reason}")
        return trip
