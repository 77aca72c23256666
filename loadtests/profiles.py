"""Closed-model load profiles: how many users run at each second of a run.

These are CLOSED models: a user sends its next request only after the answer to
the previous one, so when the platform stalls, every user waits and fewer
requests are sent (their latency from the intended send time equals the latency
from the actual one: nothing is scheduled apart from the users). The open-model
(arrival-rate) profiles, which send on a schedule whatever the answers, are in
:mod:`loadtests.arrival`; :data:`PROFILE_NAMES` lists both kinds.

A profile is a pure function of elapsed time (``users_at(t)``), so it can be
checked over simulated time and repeats exactly; :mod:`loadtests.shape` adapts
it to Locust's ``LoadTestShape``. Every profile is parameterised by its target
(peak) users and its duration; the client-side rate follows the users (each
user paces itself, see ``--rate`` in :mod:`loadtests.settings`).

=============  ==================================================================
``steady``     the target users for the whole run
``ramp``       climbs linearly from 1 user to the target over the first 90 % of
               the run, then holds the target
``soak``       ramps up to the target over min(60 s, 10 % of the run), then holds
               it (meant for long runs: hours)
=============  ==================================================================
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from typing import ClassVar

from loadtests.arrival import ARRIVAL_PROFILES
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


class Soak(Profile):
    name = "soak"
    max_ramp_s = 60.0
    ramp_fraction = 0.1

    def users_at(self, t: float) -> int:
        ramp_s = min(self.max_ramp_s, self.duration_s * self.ramp_fraction)
        if t >= ramp_s:
            return self.users
        return 1 + math.floor((self.users - 1) * t / ramp_s)


PROFILES: dict[str, type[Profile]] = {cls.name: cls for cls in (Steady, Ramp, Soak)}
#: every profile name: the closed models above and the arrival-rate ones of loadtests.arrival
PROFILE_NAMES: tuple[str, ...] = tuple(sorted({*PROFILES, *ARRIVAL_PROFILES}))


def is_arrival_rate(name: str) -> bool:
    """Whether ``name`` is an open-model (arrival-rate) profile."""
    return name in ARRIVAL_PROFILES


def make_profile(name: str, users: int, duration_s: float) -> Profile:
    """The closed-model profile called ``name``; ``ConfigError`` lists the known names."""
    try:
        cls = PROFILES[name]
    except KeyError:
        known = ", ".join(PROFILE_NAMES)
        raise ConfigError("profile", "name", f"unknown profile {name!r} (known: {known})") from None
    return cls(users, duration_s)
