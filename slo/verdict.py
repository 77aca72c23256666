"""The total score and the gate verdict from the item verdicts.

Every judged item (objective x phase, recovery, HPA check, integrity, relative
criterion) scores 1 for pass, 0.75 for warning and 0 for fail, times its
weight; the score is the weighted share in percent. Items with no data or not
applicable do not score.

Verdict, in order:

1. ``error`` when the evaluation itself failed (Prometheus down, a bad query);
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
    ERROR,
    FAIL,
    INCONCLUSIVE,
    NO_DATA,
    PASS,
    POINTS,
    WARNING,
)
from slo.spec import ScorePolicy


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
    items: list[Item], policy: ScorePolicy, error: str | None = None, incomplete: str | None = None
) -> Verdict:
    """The verdict; ``incomplete`` (why the run cannot be certified) caps it at inconclusive."""
    score = score_of(items)
    reasons: list[str] = []
    key_failures = [i.label for i in items if i.key and i.verdict == FAIL]
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
