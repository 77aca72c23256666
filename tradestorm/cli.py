"""The ``tradestorm`` command.

Subcommands live in ``tradestorm.commands.<module>`` and are imported only when
used, so ``tradestorm status`` does not pay for Locust or Chaos Toolkit imports.
Errors from the harness become a one-line message and exit code 2; a verdict
(0 pass, 1 fail, 2 inconclusive) is returned by the command itself.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

import click

from tradestorm.errors import TradestormError

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
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            return None  # a command whose part is not built yet is simply not offered
        command = getattr(module, attr)
        assert isinstance(command, click.Command)
        return command

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except TradestormError as exc:
            click.echo(f"error: {exc}", err=True)
            ctx.exit(exc.exit_code)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="tradestorm")
def cli() -> None:
    """Chaos-and-load testing harness: did we keep our SLOs, how fast did we
    recover, and did we lose a single order?"""


def main(argv: list[str] | None = None) -> None:
    cli.main(args=argv if argv is not None else sys.argv[1:], prog_name="tradestorm")
