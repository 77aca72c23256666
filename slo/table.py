"""The gate's verdict as rich tables for a terminal (or a CI log)."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from slo.result import GateResult

STYLES = {
    "pass": "green",
    "warning": "yellow",
    "fail": "bold red",
    "no_data": "magenta",
    "not_applicable": "dim",
    "inconclusive": "magenta",
    "error": "bold red",
    "aborted": "bold magenta",
}


def _verdict(v: str) -> Text:
    return Text(v.upper() if v in ("pass", "fail", "warning") else v, style=STYLES.get(v, ""))


def _num(value: float | None, unit: str = "") -> str:
    if value is None:
        return "-"
    return f"{value:.4g}{' ' + unit if unit and unit != 'ratio' else ''}"


def render(result: GateResult, console: Console | None = None) -> None:
    console = console or Console()
    title = "SLO gate" + (f" — {result.scenario}" if result.scenario else "")
    if result.objectives:
        table = Table(title=title, title_justify="left")
        for col in ("objective", "phase", "side", "value", "criteria", "verdict", "key"):
            table.add_column(col, overflow="fold")
        for o in result.objectives:
            limit = f"{o.op} {o.target:g}" + (
                f" (warn {o.warning:g})" if o.warning is not None else ""
            )
            table.add_row(
                o.name,
                o.phase,
                o.side or "",
                _num(o.value, o.unit),
                limit,
                _verdict(o.verdict),
                "key" if o.key else "",
            )
        console.print(table)
    if result.recovery:
        table = Table(title="Recovery after faults", title_justify="left")
        for col in ("check", "fault", "recovered after", "within", "verdict"):
            table.add_column(col, overflow="fold")
        for r in result.recovery:
            seconds = "-" if r.seconds is None else f"{r.seconds:.1f} s"
            table.add_row(r.name, r.fault, seconds, f"{r.target_seconds:g} s", _verdict(r.verdict))
        console.print(table)
    if result.hpa:
        table = Table(title="Autoscaling (HPA)", title_justify="left")
        for col in ("check", "service", "scale-out", "max hit", "scaled in", "flaps", "verdict"):
            table.add_column(col, overflow="fold")
        for h in result.hpa:
            table.add_row(
                h.name,
                h.service,
                _num(h.scale_out_seconds, "s"),
                _yes(h.max_replicas_hit),
                _yes(h.scaled_in),
                "-" if h.flaps is None else str(h.flaps),
                _verdict(h.verdict),
            )
        console.print(table)
    if result.integrity is not None:
        i = result.integrity
        console.print(Text.assemble("Data integrity: ", _verdict(i.verdict), f"  {i.detail}"))
    for check in result.run_checks:
        console.print(Text.assemble(f"Run: {check.name}: ", _verdict(check.verdict),
                                    f"  {check.detail}"))
    if result.comparison.items:
        table = Table(
            title=f"Versus {result.comparison.previous_run or 'no earlier passing run'}",
            title_justify="left",
        )
        for col in ("criterion", "previous", "current", "change", "verdict"):
            table.add_column(col, overflow="fold")
        for c in result.comparison.items:
            change = "-" if c.change_pct is None else f"{c.change_pct:+.1f} %"
            table.add_row(c.name, _num(c.previous), _num(c.current), change, _verdict(c.verdict))
        console.print(table)
    for reason in result.reasons:
        console.print(f"  - {reason}", highlight=False)
    score = "-" if result.score is None else f"{result.score:.1f}"
    line = Text.assemble(
        "verdict: ", _verdict(result.verdict), f"  score {score}  exit {result.exit_code}"
    )
    if result.verdict == "warning":
        line.append("  (a warning passes the gate; see above)", style="yellow")
    console.print(line)
    for path in (result.slo_path, result.junit_path):
        if path is not None:
            console.print(f"wrote {path}", highlight=False)


def _yes(value: bool | None) -> str:
    return "-" if value is None else ("yes" if value else "no")
