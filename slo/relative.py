"""Relative objectives: a phase judged against the run's own baseline.

The value is the ratio of the phase's reduced samples to the reference phase's
(e.g. fault-phase p95 of p99 latency over the baseline's; fault-phase mean
throughput over the baseline's), so a target reads "at most 3x the baseline" or
"at least 0.8 of it". A noisy machine moves both phases; to keep noise from
flipping the verdict the ratio comes with a 95 % confidence interval from a
moving-block bootstrap over the samples (blocks of :data:`BLOCK` samples, since
neighbouring samples of 10 s windows are not independent; a fixed seed per
objective and phase, so judging the same samples again gives the same answer).

Judged: ``fail`` only when the whole interval misses the target (the phase is
worse beyond the noise); ``warning`` when the ratio itself misses the target or
its warning but the interval still reaches it; ``pass`` otherwise.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Sequence

from slo.series import reduce
from slo.spec import Criteria, meets

RESAMPLES = 2000
BLOCK = 10  # samples per block: one 10 s SLI window at a 1 s step
CONFIDENCE = 0.95


def ratio(phase: Sequence[float], reference: Sequence[float], aggregate: str) -> float | None:
    """The phase's reduced value over the reference's; None when the reference is 0."""
    base = reduce(reference, aggregate)
    return None if base == 0 else reduce(phase, aggregate) / base


def interval(phase: Sequence[float], reference: Sequence[float], aggregate: str,
             seed: str) -> tuple[float, float] | None:
    """The bootstrap confidence interval of :func:`ratio` (None when a resample divides by 0)."""
    rng = random.Random(int.from_bytes(hashlib.sha256(seed.encode()).digest()[:8], "big"))
    ratios = []
    for _ in range(RESAMPLES):
        r = ratio(_resample(phase, rng), _resample(reference, rng), aggregate)
        if r is None:
            return None
        ratios.append(r)
    ratios.sort()
    tail = (1 - CONFIDENCE) / 2
    lo = ratios[int(tail * (RESAMPLES - 1))]
    hi = ratios[int((1 - tail) * (RESAMPLES - 1))]
    return lo, hi


def _resample(values: Sequence[float], rng: random.Random) -> list[float]:
    """A moving-block bootstrap resample of ``values`` (same length)."""
    n = len(values)
    block = max(1, min(BLOCK, n))
    out: list[float] = []
    while len(out) < n:
        start = rng.randrange(0, n - block + 1)
        out.extend(values[start:start + block])
    return out[:n]


def judge_relative(value: float, bounds: tuple[float, float], op: str,
                   criteria: Criteria) -> str:
    """``fail`` when the whole interval misses the target, ``warning`` when only the value (or
    its warning) does, else ``pass`` (see the module)."""
    lo, hi = bounds
    best = lo if op in ("<=", "<") else hi  # the end of the interval closest to meeting it
    if not meets(best, op, criteria.target):
        return "fail"
    if not meets(value, op, criteria.target):
        return "warning"
    if criteria.warning is not None and not meets(value, op, criteria.warning):
        return "warning"
    return "pass"
