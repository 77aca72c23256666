"""A human summary of a reconciliation, printed with rich."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from loadtests.reconcile.result import ReconcileResult

MAX_SHOWN = 20


def print_summary(result: ReconcileResult, console: Console | None = None) -> None:
    console = console or Console()
    table = Table(
        title=f"reconcile: {result.acknowledged} acknowledged, {result.submitted} submitted orders"
    )
    table.add_column("check")
    table.add_column("result")
    table.add_column("checked", justify="right")
    table.add_column("violations", justify="right")
    for check in result.checks:
        table.add_row(
            check.name,
            "[green]ok[/]" if check.ok else "[bold red]VIOLATED[/]",
            str(check.checked),
            str(len(check.violations)),
        )
    console.print(table)
    violations = result.violations
    for v in violations[:MAX_SHOWN]:
        console.print(f"[red]✗[/] [bold]{v.check}[/]: {v.detail}", highlight=False)
    if len(violations) > MAX_SHOWN:
        console.print(f"... and {len(violations) - MAX_SHOWN} more (see reconcile.json)")
    for w in result.warnings:
        console.print(f"[yellow]warning[/]: {w}", highlight=False)
    if not result.conclusive:
        console.print("[yellow]inconclusive[/]: no order was acknowledged, nothing to prove")
    elif result.ok:
        console.print(
            f"[bold green]no order lost, duplicated or mis-booked[/] "
            f"({result.acknowledged} acknowledged)"
        )
    else:
        console.print(f"[bold red]{len(violations)} violation(s)[/]")
