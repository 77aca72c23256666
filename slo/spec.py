"""The in-memory SLO spec: what :mod:`slo.validation` builds from YAML.

A spec file is a multi-document YAML file holding OpenSLO v1 objects
(``DataSource``, ``SLI``, ``SLO``) and one tradestorm ``ResilienceSpec`` that
says what to judge, in which phase of a run, and how much each judgement
weighs. These classes are plain immutable data; they are valid by
construction (validation raises before one is built).
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

# comparison operators, in the spelling slo.json uses; OpenSLO's names map to them
OPS: dict[str, Callable[[float, float], bool]] = {
    "<=": operator.le,
    "<": operator.lt,
    ">=": operator.ge,
    ">": operator.gt,
}
OP_ALIASES = {"lte": "<=", "lt": "<", "gte": ">=", "gt": ">"}

# how the samples of one phase are reduced to the value an objective judges
THRESHOLD_AGGREGATES = ("mean", "max", "min", "last", "p50", "p90", "p95", "p99", "compliance")
RATIO_AGGREGATES = ("ratio",)
SIDES = ("client", "server")
RUN_PHASE = "run"  # the pseudo-phase spanning a whole run (or the --from/--to window)
#: the phases of a run an objective may be judged in (the runner's, and the whole run)
PHASES = ("warmup", "baseline", "fault", "recovery", RUN_PHASE)
#: the route classes an objective may judge apart (``routeClass``): the values of the
#: ``route_class`` label that the load generator (loadtests/metrics.py) and the gateway's
#: recording rules (slo/rules/common.yaml) put on their series (docs/contracts.md §2)
ROUTE_CLASSES = ("order-entry", "reads", "analytics")
#: the label an objective with ``routeClass`` selects its series by
ROUTE_CLASS_LABEL = "route_class"
# an objective needs this share of its phase's expected samples (spec.coverage overrides);
# below it the phase is inconclusive: a hole in the data must never hide a failure
DEFAULT_COVERAGE = 0.9


def judge(value: float, op: str, target: float, warning: float | None) -> str:
    """``fail`` when ``value`` misses the target, ``warning`` when it misses only the warning."""
    if not meets(value, op, target):
        return "fail"
    if warning is not None and not meets(value, op, warning):
        return "warning"
    return "pass"


def lower_is_better(op: str) -> bool:
    """True when smaller values satisfy ``op`` more easily (``<=``, ``<``)."""
    return op in ("<=", "<")


def meets(value: float, op: str, threshold: float) -> bool:
    return OPS[op](value, threshold)


@dataclass(frozen=True)
class DataSource:
    name: str
    url: str | None = None


@dataclass(frozen=True)
class SLI:
    """An OpenSLO SLI: one threshold query, or a good/bad-over-total ratio."""

    name: str
    kind: str  # "threshold" | "ratio"
    query: str | None = None  # threshold metric
    good: str | None = None  # ratio metric (good or bad, never both)
    bad: str | None = None
    total: str | None = None
    counter: bool = False  # ratio inputs are counters (use increases) rather than rates
    # counters: when each process was scraped (annotation tradestorm.dev/scraped-at)
    scraped_at: str | None = None
    # client latency also in the load's HDR log (annotation tradestorm.dev/hdr, e.g. "sent 99"):
    # ("sent" | "intended", percentile); judged on it when the results folder has the log
    hdr: tuple[str, float] | None = None
    description: str = ""
    side: str | None = None
    unit: str = ""
    datasource: str | None = None

    @property
    def queries(self) -> tuple[str, ...]:
        """Every PromQL query this SLI needs."""
        return tuple(q for q in (self.query, self.good, self.bad, self.total, self.scraped_at)
                     if q)


@dataclass(frozen=True)
class SLO:
    """An OpenSLO SLO with one objective: ``target`` of samples (or events) meet ``op value``."""

    name: str
    sli: SLI
    target: float
    op: str | None = None  # threshold SLIs: the per-sample condition
    value: float | None = None
    description: str = ""


@dataclass(frozen=True)
class Criteria:
    """Pass/warning thresholds of one objective in one phase.

    ``target`` is the hard limit (missing it fails); ``warning`` is a stricter
    limit (missing it while meeting ``target`` is a warning).
    """

    target: float
    warning: float | None = None

    def describe(self, op: str, unit: str = "") -> str:
        """``<= 0.5`` (``(warning beyond 0.3)``), as objectives' details state their limits."""
        limits = f"{op} {self.target:g}{unit}"
        if self.warning is not None:
            limits += f" (warning beyond {self.warning:g}{unit})"
        return limits


@dataclass(frozen=True)
class Objective:
    name: str
    sli: SLI
    aggregate: str
    op: str
    phases: dict[str, Criteria]
    description: str = ""
    key: bool = False
    weight: float = 1.0
    side: str | None = None
    unit: str = ""
    # aggregate "compliance": the per-sample condition whose share is judged
    sample_op: str | None = None
    sample_threshold: float | None = None
    slo: str | None = None  # the OpenSLO SLO it came from, if any
    # judge only the series whose ``route_class`` label is this (the name then ends [class])
    route_class: str | None = None
    # the share of a phase's expected samples needed to judge it (None: the spec's default)
    coverage: float | None = None
    # judged as this phase's value over the named phase's (e.g. "baseline"): a ratio
    relative_to: str | None = None


@dataclass(frozen=True)
class Recovery:
    """Recovery time: from a fault's end until the SLI meets ``op threshold``
    for ``consecutive`` samples in a row."""

    name: str
    sli: SLI
    op: str
    threshold: float
    target_seconds: float
    warning_seconds: float | None = None
    consecutive: int = 3
    fault_action: str | None = None  # only faults with this action (None: every fault)
    fault_target: str | None = None
    description: str = ""
    key: bool = False
    weight: float = 1.0


@dataclass(frozen=True)
class HPACheck:
    """Horizontal pod autoscaler behaviour from kube-state-metrics."""

    name: str
    service: str
    hpa: str
    namespace: str
    load_phase: str = "fault"  # the load step is the start of this phase
    scale_out_within_s: float = 120.0
    max_replicas_hit: str = "warn"  # what hitting spec.maxReplicas means: fail | warn | ignore
    scale_in: bool = True  # replicas must come down again before the window ends
    max_flaps: int = 0
    # judged only in runs with a matching fault (whose start is then the load step)
    fault_action: str | None = None
    fault_target: str | None = None
    description: str = ""
    key: bool = False
    weight: float = 1.0


@dataclass(frozen=True)
class Integrity:
    enabled: bool = True
    key: bool = True
    weight: float = 3.0


@dataclass(frozen=True)
class Comparison:
    """Relative criterion: ``objective`` in ``phase`` may be at most
    ``max_worse_pct`` % worse than in the last passing run of the same scenario."""

    name: str
    objective: str
    phase: str
    max_worse_pct: float
    warning_pct: float | None = None
    key: bool = False
    weight: float = 1.0


@dataclass(frozen=True)
class ScorePolicy:
    """Total score (0-100, weighted) at or above ``passing`` passes; at or above
    ``warning`` is a warning; below fails."""

    passing: float = 90.0
    warning: float = 75.0


@dataclass(frozen=True)
class Spec:
    path: Path
    name: str
    datasource: DataSource | None
    step_s: float
    objectives: tuple[Objective, ...]
    recovery: tuple[Recovery, ...] = ()
    hpa: tuple[HPACheck, ...] = ()
    integrity: Integrity = field(default_factory=Integrity)
    comparisons: tuple[Comparison, ...] = ()
    comparison_root: Path | None = None
    score: ScorePolicy = field(default_factory=ScorePolicy)
    coverage: float = DEFAULT_COVERAGE
    slis: dict[str, SLI] = field(default_factory=dict)
    slos: dict[str, SLO] = field(default_factory=dict)

    def objective(self, name: str) -> Objective | None:
        return next((o for o in self.objectives if o.name == name), None)
