"""Errors of the scenario runner.

They extend the tradestorm hierarchy (``tradestorm.errors``), so the CLI prints
them on one line and exits 2. A malformed scenario is an ``InputError`` (file
and field named); the classes below cover what is not the user's file.
"""

from __future__ import annotations

from tradestorm.errors import InputError, TradestormError

__all__ = ["InputError", "RunnerError", "ScenarioNotFoundError", "ResultsFolderError", "StageError"]


class RunnerError(TradestormError):
    """Root of the runner's own errors."""


class ScenarioNotFoundError(RunnerError):
    """SCENARIO is neither a file nor the name of a shipped scenario."""

    def __init__(self, name: str, searched: list[str], available: list[str]) -> None:
        self.name = name
        self.available = available
        where = ", ".join(searched) or "nowhere"
        names = ", ".join(available) or "none"
        super().__init__(
            f"scenario '{name}': no such file, and no scenario of that name in {where} "
            f"(available: {names})"
        )


class ResultsFolderError(RunnerError):
    """The results folder cannot be used (not empty, not writable)."""


class StageError(RunnerError):
    """A stage of a run (load, experiment, reconcile, gate, report) failed to run at all."""

    def __init__(self, stage: str, problem: str) -> None:
        self.stage = stage
        self.problem = problem
        super().__init__(f"{stage}: {problem}")
