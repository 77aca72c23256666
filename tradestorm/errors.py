"""The tradestorm error hierarchy (CLI, local target, runner).

One root, specific subclasses; the CLI maps them to exit codes:
``InputError`` (a malformed file or argument from the user) exits 2 and names
the file and the field; every other ``TradestormError`` exits 2 as an error of
the harness itself. Verdicts (pass 0, fail 1) are not errors.
"""

from __future__ import annotations

from inputs.errors import FieldError


class TradestormError(Exception):
    """Root of every error tradestorm raises on purpose."""

    exit_code = 2


class InputError(TradestormError, FieldError):
    """A file or argument the user gave is malformed; names the file and the field."""


class ComponentError(TradestormError):
    """A component of a target (database, Prometheus, a service) failed to start or stop."""

    def __init__(self, component: str, problem: str) -> None:
        self.component = component
        self.problem = problem
        super().__init__(f"{component}: {problem}")


class TargetError(TradestormError):
    """A target cannot be used as asked (not running, already running, not allowed)."""


class LeverEngaged(TradestormError):
    """The target's safety lever is engaged: no experiment may start on it (exit 2)."""

    def __init__(self, description: str) -> None:
        self.description = description
        super().__init__(f"refused: {description}; release it with 'tradestorm lever release' "
                         "when it is safe")
