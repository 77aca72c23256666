"""What keeps a run's fault safe: the guardrail watch (conditions, the safety lever, the
trading calendar's protected windows while the fault is on), the calendar's refusal to
start a fault inside a window, and run.json's ``stages.guardrails``."""

from __future__ import annotations

import time
from typing import Any

from tradestorm.runner.run_state import RunState
from tradestorm.runner.scenario import Scenario
from tradestorm.runner.tradingcalendar import TradingCalendar
from tradestorm.runner.watch import GuardrailWatch, Trip
from tradestorm.targets import Connection


class Guardrails:
    def __init__(self, state: RunState, scenario: Scenario, connection: Connection, *,
                 lever: Any = None, allow_during_session: bool = False) -> None:
        self.state = state
        self.scenario = scenario
        self.allow_during_session = allow_during_session
        self.calendar: TradingCalendar | None = scenario.calendar
        self.watch = GuardrailWatch(
            conditions=list(scenario.guardrails), prometheus_url=connection.prometheus_url,
            spec=scenario.slo_spec, lever=lever if scenario.has_fault else None,
            calendar=None if allow_during_session else self.calendar,
            venues=list(scenario.venues) or None, interval_s=scenario.guardrail_interval_s,
            say=state.say)
        self.record()

    @property
    def tripped(self) -> Trip | None:
        """The guardrail, lever or calendar window that stopped the run (None: none did)."""
        return self.watch.tripped

    def calendar_refusal(self) -> Trip | None:
        """A protected window in force now: the fault must not start."""
        if self.calendar is None or self.allow_during_session:
            return None
        now = time.time()
        window = self.calendar.window_at(now, list(self.scenario.venues) or None)
        if window is None:
            return None
        return Trip("calendar", f"{window.venue} {window.name}",
                    f"the fault would start inside a protected window: {window.describe()}", now)

    def record(self) -> None:
        """run.json ``stages.guardrails``: what watched the run, and what tripped (if any)."""
        calendar = None
        if self.calendar is not None:
            calendar = {"file": str(self.calendar.source), "venues": list(self.scenario.venues),
                        "sample": self.calendar.sample,
                        "allowed_during_session": self.allow_during_session}
        lever = self.watch.lever
        trip = self.watch.tripped
        record = self.state.record
        ends = [f["end"] for f in record.faults if isinstance(f.get("end"), int | float)]
        if trip is not None and trip.fault_removed_at is None and ends:
            trip.fault_removed_at = max(ends)  # tripped after the fault was over
        record.stages["guardrails"] = {
            "conditions": [c.to_dict() for c in self.scenario.guardrails],
            "interval_s": self.scenario.guardrail_interval_s,
            "lever": getattr(lever, "path", None) and str(lever.path)
            or getattr(lever, "where", None),
            "calendar": calendar,
            "evaluations": self.watch.evaluations,
            "problems": list(self.watch.problems),
            "tripped": trip.to_dict() if trip else None,
        }
