"""``tradestorm reconcile``: prove that no acknowledged order was lost.

Exit codes: 0 every check passed, 1 a violation (the orders involved are
named, reconcile.json lists them all), 2 an error (no journal, database
unreachable) or inconclusive (no order was acknowledged: nothing to prove).
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import click

from tradestorm.commands.options import kube_target_options, state_dir_option
from tradestorm.runner.connection import KubeOptions, connected


@click.command("reconcile")
@click.option(
    "--results",
    "results",
    required=True,
    type=click.Path(path_type=Path, file_okay=False),
    help="results folder holding journal/orders-*.jsonl",
)
@click.option("--dsn", default=None,
              help="PostgreSQL DSN (default: the database of the running --target)")
@state_dir_option
@kube_target_options
@click.option(
    "--outbox-timeout",
    type=click.FloatRange(min=0),
    default=30.0,
    show_default=True,
    help="seconds to wait for the outbox to drain",
)
@click.option(
    "--clock-skew",
    type=click.FloatRange(min=0),
    default=5.0,
    show_default=True,
    help="seconds the load generator's clock may differ from the database's",
)
def reconcile(
    results: Path,
    dsn: str | None,
    state_dir: Path | None,
    target: str,
    kube: KubeOptions,
    outbox_timeout: float,
    clock_skew: float,
) -> None:
    """Check the order journals against the database (Jepsen-style set and bank checks)."""
    from loadtests.reconcile import reconcile as run_reconcile
    from loadtests.reconcile import write_result
    from loadtests.reconcile.summary import print_summary

    with contextlib.ExitStack() as stack:
        if dsn is None:
            connection = stack.enter_context(
                connected(target, state_dir=state_dir, kube=kube, say=click.echo))
            dsn = connection.dsn
        result = run_reconcile(
            dsn,
            results / "journal",
            outbox_drain_timeout_s=outbox_timeout,
            clock_skew_s=clock_skew,
        )
    path = write_result(result, results)
    print_summary(result)
    click.echo(f"written {path}")
    if not result.ok:
        raise SystemExit(1)
    if not result.conclusive:
        raise SystemExit(2)
