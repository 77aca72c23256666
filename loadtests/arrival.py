"""Arrival-rate (open-model) profiles: when each order is meant to be sent.

An open-model profile is a rate over time, ``r(t)`` orders per second, made of
piecewise-linear segments; :class:`RateSchedule` turns it into a list of send
times that does not depend on the answers: send ``k`` (``k = 0, 1, 2, ...``) is
due at the time ``t_k`` where the expected count ``Λ(t) = ∫₀ᵗ r`` reaches ``k``.
Times are absolute offsets from the start of the profile, so a sender that wakes
late never drifts (it does not sleep ``1/rate``, it waits for ``t0 + t_k``).

=========================  ====================================================
``constant-arrival-rate``  ``--rate R`` orders per second for the whole run
``ramping-arrival-rate``   ``--rate-stages FROM-TO:RATE[-RATE],...``: each stage
                           holds a rate or ramps linearly between two; stages
                           may leave gaps (no sends) but never overlap. With
                           ``--rate R`` and no stages: 0 -> R over 90 % of the
                           run, then R
``spike``                  20 % of R, R between 40 % and 60 % of the run, 20 %
``market-open``            10 % of R for the first 10 % of the run (pre-market);
                           R at the open, decaying exponentially (time constant
                           20 % of the run) towards 30 % of R
=========================  ====================================================

One load process schedules at most :data:`MAX_RATE_PER_PROCESS` orders per second
(the peak rate of a run is refused above ``processes x`` that).
"""

from __future__ import annotations

import bisect
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from inputs import durations
from loadtests.errors import ConfigError

#: The highest rate one load process (a Locust worker, or the only process) is allowed to
#: schedule, in orders per second. benchmarks/bench_loadgen.py measures what one core
#: sustains against the fake gateway; this ceiling keeps a margin below it so that the
#: schedule, not the CPU, decides when orders go out.
MAX_RATE_PER_PROCESS = 4000.0

RAMP_CLIMB = 0.9  # ramping-arrival-rate without stages: 0 -> R over this part of the run
EXP_SEGMENTS = 200  # market-open's exponential decay as this many linear pieces


@dataclass(frozen=True)
class Stage:
    """A part of the run ``[start_s, end_s)`` whose rate goes linearly from one value to another."""

    start_s: float
    end_s: float
    rate_start: float
    rate_end: float

    def describe(self) -> str:
        fmt = durations.format_duration
        rates = (f"{self.rate_start:g}" if self.rate_start == self.rate_end
                 else f"{self.rate_start:g}-{self.rate_end:g}")
        return f"{fmt(self.start_s, exact=True)}-{fmt(self.end_s, exact=True)}:{rates}"


class RateSchedule:
    """Send times of a piecewise-linear rate; the rate is 0 outside the stages."""

    def __init__(self, stages: Sequence[Stage], duration_s: float) -> None:
        self.duration_s = float(duration_s)
        segments: list[Stage] = []
        t = 0.0
        for stage in sorted(stages, key=lambda s: s.start_s):
            if stage.start_s >= self.duration_s:
                break
            if stage.start_s > t:
                segments.append(Stage(t, stage.start_s, 0.0, 0.0))
            end = min(stage.end_s, self.duration_s)
            if end < stage.end_s:  # cut at the end of the run: the rate where it is cut
                frac = (end - stage.start_s) / (stage.end_s - stage.start_s)
                stage = Stage(stage.start_s, end, stage.rate_start,
                              stage.rate_start + (stage.rate_end - stage.rate_start) * frac)
            segments.append(stage)
            t = end
        if t < self.duration_s:
            segments.append(Stage(t, self.duration_s, 0.0, 0.0))
        self.segments = segments
        self._starts = [s.start_s for s in segments]
        self._cum = [0.0]  # expected sends before each segment
        for s in segments:
            area = (s.end_s - s.start_s) * (s.rate_start + s.rate_end) / 2
            self._cum.append(self._cum[-1] + area)
        self.total = self._cum[-1]  # expected sends over the whole run
        self.peak_rate = max((max(s.rate_start, s.rate_end) for s in segments), default=0.0)

    def rate_at(self, t: float) -> float:
        """Orders per second at ``t`` seconds into the run."""
        if not 0 <= t < self.duration_s:
            return 0.0
        s = self.segments[bisect.bisect_right(self._starts, t) - 1]
        return s.rate_start + (s.rate_end - s.rate_start) * (t - s.start_s) / (s.end_s - s.start_s)

    def expected(self, t: float) -> float:
        """``Λ(t)``: expected sends in ``[0, t)``."""
        if t <= 0:
            return 0.0
        if t >= self.duration_s:
            return self.total
        i = bisect.bisect_right(self._starts, t) - 1
        s = self.segments[i]
        tau = t - s.start_s
        slope = (s.rate_end - s.rate_start) / (s.end_s - s.start_s)
        return self._cum[i] + s.rate_start * tau + 0.5 * slope * tau * tau

    def first_at_or_after(self, t: float) -> int:
        """The index of the first send due at ``t`` or later."""
        return max(0, math.ceil(self.expected(t) - 1e-9))

    def count_between(self, start_s: float, end_s: float) -> int:
        """Sends due in ``[start_s, end_s)``."""
        return max(0, self.first_at_or_after(end_s) - self.first_at_or_after(start_s))

    def time_of(self, k: int) -> float | None:
        """When send ``k`` is due (seconds into the run), ``None`` past the end of the run."""
        if k < 0 or k >= self.total - 1e-9:
            return None
        i = bisect.bisect_right(self._cum, k) - 1
        while i < len(self.segments) - 1 and self._cum[i + 1] <= k:
            i += 1
        s = self.segments[i]
        n = k - self._cum[i]
        slope = (s.rate_end - s.rate_start) / (s.end_s - s.start_s)
        root = math.sqrt(max(0.0, s.rate_start * s.rate_start + 2.0 * slope * n))
        denominator = s.rate_start + root
        tau = 0.0 if denominator <= 0 else 2.0 * n / denominator
        t = s.start_s + min(tau, s.end_s - s.start_s)
        return t if t < self.duration_s else None


# -- the profiles --------------------------------------------------------------
def _constant(rate: float, d: float) -> list[Stage]:
    return [Stage(0.0, d, rate, rate)]


def _ramp(rate: float, d: float) -> list[Stage]:
    climb = d * RAMP_CLIMB
    return [Stage(0.0, climb, 0.0, rate), Stage(climb, d, rate, rate)]


def _spike(rate: float, d: float) -> list[Stage]:
    base = 0.2 * rate
    return [Stage(0.0, 0.4 * d, base, base), Stage(0.4 * d, 0.6 * d, rate, rate),
            Stage(0.6 * d, d, base, base)]


def _market_open(rate: float, d: float) -> list[Stage]:
    open_s, settle, tau = 0.1 * d, 0.3 * rate, 0.2 * d
    stages = [Stage(0.0, open_s, 0.1 * rate, 0.1 * rate)]

    def r(t: float) -> float:
        return settle + (rate - settle) * math.exp(-(t - open_s) / tau)

    step = (d - open_s) / EXP_SEGMENTS
    for i in range(EXP_SEGMENTS):
        a, b = open_s + i * step, (open_s + (i + 1) * step) if i < EXP_SEGMENTS - 1 else d
        stages.append(Stage(a, b, r(a), r(b)))
    return stages


#: name -> the stages of a run of ``duration`` seconds peaking at ``rate`` orders per second
ARRIVAL_PROFILES: dict[str, Callable[[float, float], list[Stage]]] = {
    "constant-arrival-rate": _constant,
    "ramping-arrival-rate": _ramp,
    "spike": _spike,
    "market-open": _market_open,
}
STAGED_PROFILE = "ramping-arrival-rate"  # the one profile that takes --rate-stages

_STAGE = re.compile(r"^\s*([^-:\s]+)\s*-\s*([^-:\s]+)\s*:\s*([^-\s]+)\s*(?:-\s*([^-\s]+)\s*)?$")


def parse_stages(text: str, source: str = "options", field: str = "rate-stages") -> list[Stage]:
    """``FROM-TO:RATE[-RATE],...`` (``0s-1m:0-200,1m-5m:200``) as stages; ``ConfigError``
    names the field for a malformed stage, a bad rate, an empty or backward stage and for
    stages that overlap."""
    stages: list[Stage] = []
    parts = [p for p in str(text).split(",") if p.strip()]
    if not parts:
        raise ConfigError(source, field, "no stage given (FROM-TO:RATE[-RATE],...)")
    for n, part in enumerate(parts, 1):
        match = _STAGE.match(part)
        if match is None:
            raise ConfigError(source, field, f"stage {n} {part.strip()!r}: expected "
                              "FROM-TO:RATE or FROM-TO:RATE-RATE (e.g. 0s-30s:0-200)")
        try:
            start = durations.parse_duration(match.group(1))
            end = durations.parse_duration(match.group(2))
        except ValueError as exc:
            raise ConfigError(source, field, f"stage {n} {part.strip()!r}: {exc}") from None
        rates = []
        for raw in (match.group(3), match.group(4) or match.group(3)):
            try:
                value = float(raw)
            except ValueError:
                raise ConfigError(source, field, f"stage {n} {part.strip()!r}: rate {raw!r} "
                                  "is not a number") from None
            if not math.isfinite(value) or value < 0:
                raise ConfigError(source, field, f"stage {n} {part.strip()!r}: rate {raw!r} "
                                  "must be a finite number of orders per second >= 0")
            rates.append(value)
        if end <= start:
            raise ConfigError(source, field, f"stage {n} {part.strip()!r} ends before it starts")
        stages.append(Stage(start, end, rates[0], rates[1]))
    ordered = sorted(stages, key=lambda s: s.start_s)
    for before, after in zip(ordered, ordered[1:], strict=False):
        if after.start_s < before.end_s:
            raise ConfigError(source, field, f"stage {after.describe()} overlaps stage "
                              f"{before.describe()}: stages may follow each other or leave "
                              "gaps, never overlap")
    if all(s.rate_start == 0 and s.rate_end == 0 for s in stages):
        raise ConfigError(source, field, "every stage has rate 0: nothing would be sent")
    return stages


def check_rate(rate: object, source: str = "options", field: str = "rate") -> float:
    """An arrival rate in orders per second: a finite number > 0."""
    if isinstance(rate, bool):
        raise ConfigError(source, field, f"not a number: {rate!r}")
    try:
        value = float(str(rate).strip()) if isinstance(rate, str) else float(rate)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ConfigError(source, field, f"not a number: {rate!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise ConfigError(source, field, f"must be a number of orders per second > 0 for an "
                          f"arrival-rate profile, got {rate!r}")
    return value


def make_schedule(
    profile: str,
    *,
    rate: float,
    duration_s: float,
    stages: Sequence[Stage] | None = None,
    processes: int = 1,
    source: str = "options",
    fields: tuple[str, str] = ("rate", "rate-stages"),
) -> RateSchedule:
    """The validated schedule of an arrival-rate profile (``ConfigError`` names the field).

    ``processes`` is how many load processes will share the rate: a peak above
    ``processes * MAX_RATE_PER_PROCESS`` is refused (``0``: not known here, not checked).
    """
    rate_field, stages_field = fields
    if profile not in ARRIVAL_PROFILES:
        raise ConfigError(source, "profile", f"{profile!r} is not an arrival-rate profile")
    if stages:
        if profile != STAGED_PROFILE:
            raise ConfigError(source, stages_field,
                              f"only {STAGED_PROFILE} takes stages, not {profile}")
        if rate:
            raise ConfigError(source, rate_field, "give either a rate or stages, not both "
                              "(the stages carry their rates)")
        schedule = RateSchedule(stages, duration_s)
        if schedule.total < 1:
            raise ConfigError(source, stages_field, "the stages schedule no order within the "
                              f"run's {duration_s:g} s")
    else:
        value = check_rate(rate, source, rate_field)
        schedule = RateSchedule(ARRIVAL_PROFILES[profile](value, duration_s), duration_s)
    ceiling = processes * MAX_RATE_PER_PROCESS
    if processes and schedule.peak_rate > ceiling:
        raise ConfigError(
            source, stages_field if stages else rate_field,
            f"peak {schedule.peak_rate:g} orders/s is more than {processes} load "
            f"process(es) can schedule (at most {MAX_RATE_PER_PROCESS:g} orders/s each): "
            "add processes or lower the rate",
        )
    return schedule
