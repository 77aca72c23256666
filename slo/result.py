"""What a gate evaluation returns, and its ``slo.json`` form (docs/contracts.md §4).

Item verdicts: ``pass``, ``warning``, ``fail``, ``no_data``, ``not_applicable``.
Gate verdicts: ``pass``, ``warning``, ``fail``, ``inconclusive``, ``error``, ``aborted``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

PASS, WARNING, FAIL, NO_DATA, NOT_APPLICABLE = (
    "pass",
    "warning",
    "fail",
    "no_data",
    "not_applicable",
)
INCONCLUSIVE, ERROR = "inconclusive", "error"
# the run was stopped early by a guardrail, the safety lever or a trading calendar window
ABORTED = "aborted"
# a warning scores 3/4: with the default thresholds (pass 90, warning 75) warnings alone
# can make a run a warning, never a failure
POINTS = {PASS: 1.0, WARNING: 0.75, FAIL: 0.0}
EXIT_CODES = {PASS: 0, WARNING: 0, FAIL: 1, INCONCLUSIVE: 2, ERROR: 2, ABORTED: 3}
SCHEMA = 1


@dataclass
class ObjectiveResult:
    name: str
    description: str
    phase: str
    side: str | None
    query: str
    value: float | None
    unit: str
    op: str
    target: float
    warning: float | None
    verdict: str
    key: bool
    weight: float
    detail: str = ""
    aggregate: str = ""
    sli: str = ""
    samples: int = 0
    series: dict[str, str] | None = None  # the labels of the worst series, when several
    route_class: str | None = None  # the route class judged (the objective's routeClass)
    coverage: float | None = None  # share of the phase's expected samples found (0..1)
    longest_hole_s: float | None = None  # the longest run of missing samples in the phase
    relative_to: str | None = None  # a relative objective: value = this phase's / that one's
    reference_value: float | None = None  # the reference phase's reduced value
    interval: list[float] | None = None  # the value's 95 % bootstrap confidence interval
    source: str = "prometheus"  # what it was judged on: "prometheus", "hdr:sent", "hdr:intended"


@dataclass
class RecoveryResult:
    name: str
    sli: str
    fault: str
    fault_end: float | None
    recovered_at: float | None
    seconds: float | None
    target_seconds: float
    verdict: str
    key: bool
    weight: float
    warning_seconds: float | None = None
    consecutive: int = 1
    query: str = ""
    detail: str = ""


@dataclass
class HPAResult:
    name: str
    service: str
    verdict: str
    scale_out_seconds: float | None
    max_replicas_hit: bool | None
    scaled_in: bool | None
    flaps: int | None
    detail: str
    key: bool = False
    weight: float = 1.0
    hpa: str = ""
    initial_replicas: float | None = None
    peak_replicas: float | None = None
    max_replicas: float | None = None
    target_seconds: float | None = None


@dataclass
class IntegrityResult:
    verdict: str
    acknowledged: int | None
    lost: int | None
    duplicated: int | None
    violations: int | None
    detail: str = ""
    key: bool = True
    weight: float = 3.0
    checks: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class ComparisonItem:
    name: str
    objective: str
    phase: str
    previous: float | None
    current: float | None
    change_pct: float | None
    verdict: str
    max_worse_pct: float
    key: bool = False
    weight: float = 1.0
    warning_pct: float | None = None
    detail: str = ""


@dataclass
class ComparisonResult:
    previous_run: str | None
    items: list[ComparisonItem] = field(default_factory=list)
    detail: str = ""


@dataclass
class GateResult:
    """The verdict of one gate evaluation; :meth:`to_dict` is ``slo.json``."""

    verdict: str
    exit_code: int
    score: float | None
    spec: str
    evaluated_at: float
    prometheus_url: str | None
    window: dict[str, float]
    objectives: list[ObjectiveResult] = field(default_factory=list)
    recovery: list[RecoveryResult] = field(default_factory=list)
    hpa: list[HPAResult] = field(default_factory=list)
    integrity: IntegrityResult | None = None
    comparison: ComparisonResult = field(default_factory=lambda: ComparisonResult(None))
    run_checks: list[Any] = field(default_factory=list)  # slo.verdict.RunCheck
    reasons: list[str] = field(default_factory=list)
    error: str | None = None
    run_id: str | None = None
    scenario: str | None = None
    target: str | None = None
    score_policy: dict[str, float] = field(default_factory=dict)
    slo_path: Path | None = None
    junit_path: Path | None = None
    evidence: Any = None  # slo.evidence.Evidence: what it was judged on (not in slo.json)

    def to_dict(self) -> dict[str, Any]:
        data = {
            "schema": SCHEMA,
            "verdict": self.verdict,
            "exit_code": self.exit_code,
            "score": None if self.score is None else round(self.score, 2),
            "spec": self.spec,
            "evaluated_at": self.evaluated_at,
            "prometheus_url": self.prometheus_url,
            "window": self.window,
            "objectives": [asdict(o) for o in self.objectives],
            "recovery": [asdict(r) for r in self.recovery],
            "hpa": [asdict(h) for h in self.hpa],
            "integrity": asdict(self.integrity) if self.integrity else None,
            "comparison": asdict(self.comparison),
            "run_checks": [asdict(c) for c in self.run_checks],
            "reasons": self.reasons,
            "error": self.error,
            "run_id": self.run_id,
            "scenario": self.scenario,
            "target": self.target,
            "score_policy": self.score_policy,
        }
        return _json_safe(data)


def _json_safe(value: Any) -> Any:
    """JSON has no NaN or Infinity: such values become null (the detail text keeps them)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    return value
