"""``tradestorm lever engage|release|status``: the safety lever of one target.

Engaged, it stops every running experiment on the target (the run polls it like
a guardrail, rolls back and ends ``aborted``) and refuses new ones
(``tradestorm run`` and ``tradestorm chaos run`` exit 2 naming who engaged it,
when and why) until it is released.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from tradestorm.commands.options import kube_target_options, state_dir_option
from tradestorm.lever import Lever


def lever_of(target: str, state_dir: Path | None, kube: Any) -> Lever:
    """The safety lever of ``target`` (the local state folder's, or the cluster's)."""
    from tradestorm.kube.lever import kube_lever
    from tradestorm.lever import local_lever

    return local_lever(state_dir) if target == "local" else kube_lever(kube)


@click.group()
def lever() -> None:
    """The safety lever: stop every experiment on a target and refuse new ones."""


@lever.command()
@kube_target_options
@state_dir_option
@click.option("--reason", required=True, help="Why (recorded, shown to whoever is refused).")
@click.option("--by", default=None, help="Who engages it [default: the OS user].")
def engage(target: str, kube: Any, state_dir: Path | None, reason: str, by: str | None) -> None:
    """Engage the lever: running experiments roll back, new ones are refused."""
    from tradestorm.lever import default_user

    if not reason.strip():
        raise click.BadParameter("must say why", param_hint="--reason")
    state = lever_of(target, state_dir, kube).engage(by or default_user(), reason.strip())
    click.echo(state.describe())


@lever.command()
@kube_target_options
@state_dir_option
@click.option("--by", default=None, help="Who releases it [default: the OS user].")
def release(target: str, kube: Any, state_dir: Path | None, by: str | None) -> None:
    """Release the lever: experiments may run again."""
    from tradestorm.lever import default_user

    state = lever_of(target, state_dir, kube).release(by or default_user())
    click.echo(f"{state.describe()} by {state.by}")


@lever.command()
@kube_target_options
@state_dir_option
@click.option("--json", "as_json", is_flag=True, help="Print the state as JSON.")
def status(target: str, kube: Any, state_dir: Path | None, as_json: bool) -> None:
    """Show the lever's state; exit 1 when it is engaged."""
    state = lever_of(target, state_dir, kube).read()
    click.echo(json.dumps(state.to_dict()) if as_json else state.describe())
    raise SystemExit(1 if state.engaged else 0)
