"""The ``tradestorm`` command.

Subcommands live in ``tradestorm.commands.<module>`` and are imported only when
used, so ``tradestorm status`` does not pay for Locust or Chaos Toolkit imports.
Every package's errors are mapped here, once (``ERROR_BOUNDARY``): an input
error of any package (``inputs.errors.FieldError``: the file, the field, the
problem) and each package's root error become one line ``error: ...`` and exit
code 2; a verdict (0 pass, 1 fail, 2 inconclusive, 3 aborted) is returned by the
command itself.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

import click

# Each package's root error (and the one input-error shape), by dotted name so that the
# table costs no import: ``tradestorm status`` does not load Locust or Chaos Toolkit to map
# the errors of ``tradestorm load`` or ``tradestorm chaos``. An error outside it is a bug and
# keeps its traceback.
ERROR_BOUNDARY: frozenset[str] = frozenset({
    "inputs.errors.FieldError",  # every package's input error: file, field, problem
    "tradestorm.errors.TradestormError",
    "slo.errors.SLOError",
    "promclient.errors.PrometheusError",
    "reports.errors.ReportError",
    "runfolder.errors.RunFolderError",
    "loadtests.errors.LoadtestsError",
    "tradestorm_chaos.errors.ChaosError",
})


def mapped_error(exc: BaseException) -> bool:
    """Whether ``exc`` is one of the errors the CLI shows as a message with exit 2."""
    return any(f"{cls.__module__}.{cls.__qualname__}" in ERROR_BOUNDARY
               for cls in type(exc).__mro__)

# name -> "module:attribute" of a click.Command
COMMANDS: dict[str, str] = {
    "up": "tradestorm.commands.target:up",
    "down": "tradestorm.commands.target:down",
    "status": "tradestorm.commands.target:status",
    "load": "tradestorm.commands.load:load",
    "reconcile": "tradestorm.commands.reconcile:reconcile",
    "chaos": "tradestorm.commands.chaos:chaos",
    "gate": "tradestorm.commands.gate:gate",
    "verify": "tradestorm.commands.verify:verify",
    "report": "tradestorm.commands.report:report",
    "run": "tradestorm.commands.run:run",
    "demo": "tradestorm.commands.run:demo",
    "lever": "tradestorm.commands.lever:lever",
}


class LazyGroup(click.Group):
    """A click group whose subcommands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, attr = target.split(":")
        module = importlib.import_module(module_name)
        command = getattr(module, attr)
        assert isinstance(command, click.Command)
        return command

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except Exception as exc:
            if not mapped_error(exc):
                raise
            click.echo(f"error: {exc}", err=True)
            ctx.exit(getattr(exc, "exit_code", 2))


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="tradestorm")
def cli() -> None:
    """Chaos-and-load testing harness: did we keep our SLOs, how fast did we
    recover, and did we lose a single order?"""


def main(argv: list[str] | None = None) -> None:
    cli.main(args=argv if argv is not None else sys.argv[1:], prog_name="tradestorm")
