"""The Locust load shape that plays the selected profile (:mod:`loadtests.profiles`)."""

from __future__ import annotations

from locust import LoadTestShape

from loadtests.context import load_context
from loadtests.profiles import Profile


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

    def tick(self) -> tuple[int, float] | None:
        return self.profile.at(self.get_run_time())
