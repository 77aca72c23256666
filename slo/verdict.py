"""The total score and the gate verdict from the item verdicts.

Every judged item (objective x phase, recovery, HPA check, integrity, relative
criterion, and the run's own checks: the experiment's steady-state hypothesis)
scores 1 for pass, 0.75 for warning and 0 for fail, times its
weight; the score is the weighted share in percent. Items with no data or not
applicable do not score.

Verdict, in order:

0. (after ``error``) ``aborted`` when a guardrail, the safety lever or a trading
   calendar window stopped the fault early (run.json ``stages.guardrails.tripped``):
   the run is not judged further, whatever its items say (they are still reported);
1. ``error`` when the evaluation itself failed (Prometheus down, a bad query)
   or a stage of the run failed (the load, the experiment, the fault sweep, the
   reconcile...: a run that did not do what it was asked cannot certify anything);
2. ``fail`` when a key item failed, or when even counting every no-data item
   as a pass the score stays below the warning threshold;
3. ``inconclusive`` when the run did not complete (interrupted or failed), any
   item has no data, or nothing could be judged;
4. ``fail`` / ``warning`` / ``pass`` from the score thresholds; a pass with any
   warning or failed non-key item is reported as ``warning``.
"""

from __future__ import annotations

from dataclasses import dataclass

from slo.result import (
    ABORTED,
    ERROR,
    FAIL,
    INCONCLUSIVE,
    NO_DATA,
    PASS,
    POINTS,
    WARNING,
)
from slo.run import RunInfo
from slo.spec import ScorePolicy

HYPOTHESIS = "steady-state hypothesis"
# the stage that is the gate itself: not a reason to refuse a verdict
_OWN_STAGES = ("gate",)


@dataclass(frozen=True)
class Item:
    label: str
    verdict: str
    key: bool
    weight: float


@dataclass(frozen=True)
class Verdict:
    verdict: str
    score: float | None
    reasons: list[str]


@dataclass(frozen=True)
class RunCheck:
    """A check of the run itself, read from run.json (key: a failure fails the run)."""

    name: str
    verdict: str
    detail: str
    key: bool = True
    weight: float = 1.0


def run_checks(run: RunInfo) -> tuple[list[RunCheck], str | None]:
    """The run's own checks, and why it cannot be certified (a failed stage), if it cannot.

    A deviated steady-state hypothesis is a resilience finding: a failed key check. A
    stage that broke (an exception, residue left, a load that ignored its stop) is not
    a finding but a run that did not do what it was asked: an error. Reconcile's
    findings are judged by the integrity item, from reconcile.json.
    """
    checks: list[RunCheck] = []
    experiment = run.experiment or {}
    if "deviated" in experiment:
        if experiment["deviated"]:
            checks.append(RunCheck(HYPOTHESIS, FAIL, "the experiment's steady-state hypothesis "
                                   "deviated after the fault (see chaos-journal.json)"))
        else:
            checks.append(RunCheck(HYPOTHESIS, PASS, "the experiment's steady-state hypothesis "
                                   "held before and after the fault"))
    broken = [
        f"{name}: {info['error']}"
        for name, info in run.stages.items()
        if name not in _OWN_STAGES and info.get("ok") is False and info.get("error")
    ]
    problem = ("a stage of the run failed, so it cannot certify the platform: "
               + "; ".join(broken)) if broken else None
    return checks, problem


def aborted_by(run: RunInfo) -> str | None:
    """Why the run was stopped early (a guardrail, the lever, a calendar window), if it was."""
    trip = (run.stages.get("guardrails") or {}).get("tripped")
    if not isinstance(trip, dict):
        return None
    return (f"aborted: {trip.get('kind')} '{trip.get('name')}' tripped: "
            f"{trip.get('reason')}")


def score_of(items: list[Item], no_data_as: float | None = None) -> float | None:
    total = points = 0.0
    for item in items:
        value = POINTS.get(item.verdict)
        if value is None and item.verdict == NO_DATA and no_data_as is not None:
            value = no_data_as
        if value is None:
            continue
        total += item.weight
        points += item.weight * value
    return None if total == 0 else 100.0 * points / total


def decide(
    items: list[Item], policy: ScorePolicy, error: str | None = None, incomplete: str | None = None,
    aborted: str | None = None,
) -> Verdict:
    """The verdict; ``incomplete`` (why the run cannot be certified) caps it at inconclusive;
    ``aborted`` (why a guardrail stopped it) makes it ``aborted`` unless a stage broke."""
    score = score_of(items)
    reasons: list[str] = []
    key_failures = [i.label for i in items if i.key and i.verdict == FAIL]
    if aborted and not error:
        reasons.append(aborted)
        if key_failures:
            reasons.append("key objective failed: " + ", ".join(key_failures))
        return Verdict(ABORTED, score, reasons)
    if key_failures:
        # a proven key failure (e.g. lost orders) stands even if another part broke
        reasons.append("key objective failed: " + ", ".join(key_failures))
        if error:
            reasons.append(error)
            return Verdict(FAIL, None, reasons)  # a partial score would look like a result
        return Verdict(FAIL, score, reasons)
    if error:
        return Verdict(ERROR, None, [error])  # a partial score would look like a result
    best = score_of(items, no_data_as=POINTS[PASS])
    if best is not None and best < policy.warning:
        reasons.append(
            f"score {best:.1f} is below {policy.warning:g} even if every missing value passed"
        )
        return Verdict(FAIL, score, reasons)
    if incomplete:
        return Verdict(INCONCLUSIVE, score, [incomplete])
    no_data = [i.label for i in items if i.verdict == NO_DATA]
    if no_data:
        reasons.append("no data for: " + ", ".join(no_data))
        return Verdict(INCONCLUSIVE, score, reasons)
    if score is None:
        reasons.append("nothing could be judged (every item is not applicable)")
        return Verdict(INCONCLUSIVE, score, reasons)
    if score < policy.warning:
        reasons.append(f"score {score:.1f} is below {policy.warning:g}")
        return Verdict(FAIL, score, reasons)
    if score < policy.passing:
        reasons.append(f"score {score:.1f} is below {policy.passing:g}")
        return Verdict(WARNING, score, reasons)
    soft = [i.label for i in items if i.verdict in (WARNING, FAIL)]
    if soft:
        reasons.append("not clean: " + ", ".join(soft))
        return Verdict(WARNING, score, reasons)
    return Verdict(PASS, score, reasons)
