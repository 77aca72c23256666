"""Stop conditions: when the platform is hurt beyond a limit, the fault is stopped early.

A scenario declares them under ``guardrails`` (docs/guardrails.md)::

    guardrails:
      interval: 1s                     # how often they are evaluated (default 1s)
      stop:
        - name: client-errors          # a PromQL expression against a threshold
          query: client:errors:ratio_rate10s
          above: 0.05
          for: 10s
        - objective: order-entry-availability   # a named objective of the SLO spec
          phase: fault                           # judged with that phase's criteria
          window: 10s
          for: 5s

A condition is *true* at an evaluation when the query's largest series is above
``above`` (or its smallest below ``below``), or when the objective fails over the
last ``window``; it *trips* once it has been true at every evaluation for ``for:``.
No data is never true (a guardrail must not stop a fault on a missing scrape).
Everything is checked when the scenario is loaded (``check_conditions``):
the PromQL with promtool, the objective's name against the spec.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from promclient.errors import PrometheusError
from promclient.source import PrometheusSource
from slo.timeseries import Panel
from tradestorm.errors import InputError

DEFAULT_INTERVAL_S = 1.0


@dataclass(frozen=True)
class StopCondition:
    """One stop condition as declared, checked."""

    name: str
    for_s: float
    query: str | None = None
    above: float | None = None
    below: float | None = None
    objective: str | None = None
    phase: str = "fault"
    window_s: float = 10.0

    def describe(self) -> str:
        if self.objective is not None:
            return (f"objective {self.objective} [{self.phase}] failing over "
                    f"{self.window_s:g}s for {self.for_s:g}s")
        limit = f"> {self.above:g}" if self.above is not None else f"< {self.below:g}"
        return f"{self.query} {limit} for {self.for_s:g}s"

    def panels(self) -> list[Panel]:
        """Its own series for the report (the ``guardrails`` panel of timeseries.json): what
        it evaluated and its limit. An objective's guardrail has none (run.json has why)."""
        if self.query is None:
            return []
        worst = "max" if self.above is not None else "min"
        limit = self.above if self.above is not None else self.below
        return [Panel("guardrails", self.name, "", f"{worst}({self.query})"),
                Panel("guardrails", f"{self.name} limit", "", f"vector({limit!r})")]

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "for_s": self.for_s}
        if self.objective is not None:
            out.update(objective=self.objective, phase=self.phase, window_s=self.window_s)
        else:
            out.update(query=self.query, above=self.above, below=self.below)
        return out


def build_conditions(items: list[dict[str, Any]], source: str, spec: Path) -> list[StopCondition]:
    """The scenario's ``guardrails.stop`` (already shaped by its model) as checked conditions.

    Raises ``InputError`` naming ``source`` and the field: neither or both of
    ``query``/``objective``, no threshold, two names alike, PromQL that does not
    parse, an objective the SLO spec does not have (or without criteria for ``phase``).
    """
    conditions: list[StopCondition] = []
    for i, item in enumerate(items):
        where = f"guardrails.stop[{i}]"
        query, objective = item.get("query"), item.get("objective")
        if (query is None) == (objective is None):
            raise InputError(source, where, "give either 'query' (PromQL and 'above' or "
                             "'below') or 'objective' (a name in the SLO spec)")
        above, below = item.get("above"), item.get("below")
        if query is not None and (above is None) == (below is None):
            raise InputError(source, f"{where}.above",
                             "a query needs exactly one threshold: 'above' or 'below'")
        if objective is not None and (above is not None or below is not None):
            raise InputError(source, f"{where}.above",
                             "an objective brings its own threshold (the spec's); remove it")
        name = item.get("name") or objective or f"guardrail-{i + 1}"
        conditions.append(StopCondition(
            name=name, for_s=float(item["for_"]), query=query, above=above, below=below,
            objective=objective, phase=item.get("phase") or "fault",
            window_s=float(item.get("window") or 10.0)))
    names = [c.name for c in conditions]
    for i, name in enumerate(names):
        if name in names[:i]:
            raise InputError(source, f"guardrails.stop[{i}].name", f"'{name}' is used twice")
    _check_promql(conditions, source)
    _check_objectives(conditions, source, spec)
    return conditions


def _check_promql(conditions: list[StopCondition], source: str) -> None:
    from slo.errors import SpecError
    from slo.promql import Query, check_queries

    queries = [Query(source, f"guardrails.stop[{i}].query", c.query)
               for i, c in enumerate(conditions) if c.query is not None]
    try:
        check_queries(queries)
    except SpecError as exc:
        raise InputError(exc.source, exc.field, exc.problem) from None


def _check_objectives(conditions: list[StopCondition], source: str, spec: Path) -> None:
    if not any(c.objective for c in conditions):
        return
    import difflib

    from slo.validation import load_spec

    loaded = load_spec(spec)
    known = [o.name for o in loaded.objectives]
    for i, condition in enumerate(conditions):
        if condition.objective is None:
            continue
        found = loaded.objective(condition.objective)
        if found is None:
            close = difflib.get_close_matches(condition.objective, known, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise InputError(source, f"guardrails.stop[{i}].objective",
                             f"no objective '{condition.objective}' in {spec.name}{hint}")
        if condition.phase not in found.phases:
            raise InputError(source, f"guardrails.stop[{i}].phase",
                             f"objective '{condition.objective}' has no criteria for phase "
                             f"'{condition.phase}' (it has: {', '.join(found.phases)})")


@dataclass
class Reading:
    """One evaluation of a condition: true or not, the value seen, or why none."""

    true: bool
    value: float | None
    detail: str = ""


class ConditionTracker:
    """Evaluates one condition against Prometheus and tracks how long it has been true."""

    def __init__(self, condition: StopCondition, prometheus_url: str, spec: Path) -> None:
        self.condition = condition
        self.url = prometheus_url
        self.spec = spec
        self.true_since: float | None = None
        self.last: Reading | None = None
        self._slo_objective: Any = None  # the objective's spec, read at its first evaluation

    def read(self, source: PrometheusSource) -> Reading:
        c = self.condition
        try:
            if c.objective is not None:
                return self._objective(source)
            assert c.query is not None
            values = [s.value for s in source.instant_query(c.query) if s.value is not None]
        except PrometheusError as exc:
            return Reading(False, None, f"not evaluated: {exc}")
        if not values:
            return Reading(False, None, "no data")
        if c.above is not None:
            value = max(values)
            return Reading(value > c.above, value)
        value = min(values)
        return Reading(c.below is not None and value < c.below, value)

    def _objective(self, source: PrometheusSource) -> Reading:
        from slo.objectives import evaluate_objective
        from slo.run import window_run
        from slo.validation import load_spec

        c = self.condition
        if self._slo_objective is None:  # once, not at every evaluation of the watch
            self._slo_objective = load_spec(self.spec).objective(c.objective or "")
        objective = self._slo_objective
        assert objective is not None  # checked when the scenario was loaded
        end = time.time()
        run = window_run(end - c.window_s, end, phase=c.phase, prometheus_url=self.url)
        fetched = source.range_queries(objective.sli.queries, run.start, run.end, 1.0)
        result = evaluate_objective(objective, c.phase, run, fetched, 1.0)
        return Reading(result.verdict == "fail", result.value, result.verdict)

    def update(self, source: PrometheusSource, now: float) -> bool:
        """Evaluate once; True when the condition has now been true for ``for:``."""
        reading = self.read(source)
        self.last = reading
        if not reading.true:
            self.true_since = None
            return False
        if self.true_since is None:
            self.true_since = now
        return now - self.true_since >= self.condition.for_s
