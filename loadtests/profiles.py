"""Load profiles: how many users run at each second of a run.

A profile is a pure function of elapsed time (``users_at(t)``), so it can be
checked over simulated time and repeats exactly; :mod:`loadtests.shape` adapts
it to Locust's ``LoadTestShape``. Every profile is parameterised by its target
(peak) users and its duration; the client-side rate follows the users (each
user paces itself, see ``--rate`` in :mod:`loadtests.settings`).

=============  ==================================================================
``steady``     the target users for the whole run
``ramp``       climbs linearly from 1 user to the target over the first 90 % of
               the run, then holds the target
``spike``      20 % of the target, the full target between 40 % and 60 % of the
               run, then 20 % again
``market-open`` pre-market at 10 % of the target for the first 10 % of the run;
               at the open the full target at once, decaying exponentially
               (time constant 20 % of the run) towards 30 % of the target
``soak``       ramps up to the target over min(60 s, 10 % of the run), then holds
               it (meant for long runs: hours)
=============  ==================================================================
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from typing import ClassVar

from loadtests.errors import ConfigError


class Profile(ABC):
    """Users over time for a run of ``duration_s`` seconds peaking at ``users``."""

    name: ClassVar[str]

    def __init__(self, users: int, duration_s: float) -> None:
        if isinstance(users, bool) or not isinstance(users, int) or users < 1:
            raise ConfigError("profile", "users", f"must be an integer >= 1, got {users!r}")
        if (
            not isinstance(duration_s, int | float)
            or not math.isfinite(duration_s)
            or duration_s <= 0
        ):
            raise ConfigError("profile", "duration", f"must be > 0 seconds, got {duration_s!r}")
        self.users = users
        self.duration_s = float(duration_s)

    @property
    def spawn_rate(self) -> float:
        """Users started or stopped per second: fast enough to follow ``users_at`` within a tick."""
        return float(max(self.users, 1))

    def at(self, t: float) -> tuple[int, float] | None:
        """``(users, spawn_rate)`` at ``t`` seconds into the run, ``None`` once it is over."""
        if t >= self.duration_s:
            return None
        return max(1, min(self.users, self.users_at(max(t, 0.0)))), self.spawn_rate

    @abstractmethod
    def users_at(self, t: float) -> int:
        """Users wanted at ``0 <= t < duration_s``."""

    def fraction(self, f: float) -> int:
        """``f`` of the target users, at least 1."""
        return max(1, round(self.users * f))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(users={self.users}, duration_s={self.duration_s:g})"


class Steady(Profile):
    name = "steady"

    def users_at(self, t: float) -> int:
        return self.users


class Ramp(Profile):
    name = "ramp"
    climb = 0.9

    def users_at(self, t: float) -> int:
        climb_s = self.duration_s * self.climb
        if t >= climb_s:
            return self.users
        return 1 + math.floor((self.users - 1) * t / climb_s)


class Spike(Profile):
    name = "spike"
    base = 0.2
    start, end = 0.4, 0.6

    def users_at(self, t: float) -> int:
        f = t / self.duration_s
        if self.start <= f < self.end:
            return self.users
        return self.fraction(self.base)


class MarketOpen(Profile):
    name = "market-open"
    pre_market = 0.1  # of the target users
    open_at = 0.1  # of the duration
    settle = 0.3  # of the target users, what the burst decays towards
    tau = 0.2  # of the duration, the decay's time constant

    def users_at(self, t: float) -> int:
        open_s = self.duration_s * self.open_at
        if t < open_s:
            return self.fraction(self.pre_market)
        base = self.users * self.settle
        decayed = base + (self.users - base) * math.exp(
            -(t - open_s) / (self.duration_s * self.tau)
        )
        return max(1, round(decayed))


class Soak(Profile):
    name = "soak"
    max_ramp_s = 60.0
    ramp_fraction = 0.1

    def users_at(self, t: float) -> int:
        ramp_s = min(self.max_ramp_s, self.duration_s * self.ramp_fraction)
        if t >= ramp_s:
            return self.users
        return 1 + math.floor((self.users - 1) * t / ramp_s)


PROFILES: dict[str, type[Profile]] = {
    cls.name: cls for cls in (Steady, Ramp, Spike, MarketOpen, Soak)
}


def make_profile(name: str, users: int, duration_s: float) -> Profile:
    """The profile called ``name``; ``ConfigError`` lists the known names."""
    try:
        cls = PROFILES[name]
    except KeyError:
        known = ", ".join(sorted(PROFILES))
        raise ConfigError("profile", "name", f"unknown profile {name!r} (known: {known})") from None
    return cls(users, duration_s)
