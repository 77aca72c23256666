"""The Locust load shape that plays the selected profile.

A closed-model profile (:mod:`loadtests.profiles`) is users over time, run as the
closed-model user classes. An arrival-rate profile (:mod:`loadtests.arrival`) is
one :class:`~loadtests.users.arrivals.OrderArrivals` user per load process, each
sending its share of the schedule; at every tick the shape first lets the
:class:`~loadtests.rate_split.RateSplitter` hand out (or re-split) the shares.
"""

from __future__ import annotations

from typing import Any

from locust import LoadTestShape

from loadtests.context import load_context
from loadtests.profiles import Profile
from loadtests.users import CLOSED_MODEL_USERS, OrderArrivals

SPAWN_AT_ONCE = 100.0  # an open model's one sender per process starts without delay


class ProfileShape(LoadTestShape):
    """Users over time from the profile named by ``--load-profile`` / ``TRADESTORM_PROFILE``.

    Locust creates the shape without arguments and reads the profile from the
    load context at the first tick; tests may pass a profile directly.
    """

    def __init__(self, profile: Profile | None = None) -> None:
        super().__init__()
        self._profile = profile

    @property
    def profile(self) -> Profile:
        if self._profile is None:
            assert self.runner is not None, "the shape runs inside a Locust runner"
            self._profile = load_context(self.runner.environment).settings.make_profile()
        return self._profile

    def tick(self) -> tuple[int, float, list[Any]] | None:
        run_time = self.get_run_time()
        if self._profile is None and self.runner is not None:
            ctx = load_context(self.runner.environment)
            if ctx.settings.open_model:
                if run_time >= ctx.settings.duration_s:
                    return None
                assert ctx.splitter is not None, "the process that plays the profile splits it"
                processes = ctx.splitter.update(run_time)
                return processes, SPAWN_AT_ONCE, [OrderArrivals]
        at = self.profile.at(run_time)
        if at is None:
            return None
        users, spawn_rate = at
        return users, spawn_rate, list(CLOSED_MODEL_USERS)
