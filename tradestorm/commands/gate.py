"""``tradestorm gate``: the CI verdict of a run (or of a time window) against SLO specs.

A thin wrapper around :mod:`slo.gate`: exit 0 pass (a warning passes and says
so), 1 fail, 2 inconclusive or error. Input errors (a malformed spec or
results folder, a bad option) exit 2 naming the file and the field.
"""

from __future__ import annotations

from pathlib import Path

import click

from tradestorm.errors import InputError, TradestormError


def _state_prometheus_url() -> str | None:
    """The running local target's Prometheus, when one runs (through the target)."""
    from tradestorm.runner.connection import connected

    try:
        with connected("local", say=lambda _line: None) as connection:
            return connection.prometheus_url
    except (TradestormError, OSError, ValueError):
        return None


@click.command()
@click.argument("results_dir", required=False, type=click.Path(path_type=Path, file_okay=False))
@click.option(
    "--spec",
    type=click.Path(path_type=Path, dir_okay=False),
    help="SLO spec (OpenSLO + ResilienceSpec YAML); default: slo/specs/reference-platform.yaml",
)
@click.option(
    "--prometheus",
    "prometheus_url",
    metavar="URL",
    help="Prometheus to query; default: run.json's, else the local target's",
)
@click.option(
    "--from", "from_", metavar="TIME", help="window start: Unix seconds, ISO 8601, or now-15m"
)
@click.option("--to", "to", metavar="TIME", help="window end (default: now)")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="with --from/--to: folder for slo.json and junit.xml",
)
@click.option(
    "--phase",
    default="run",
    show_default=True,
    help="with --from/--to: judge the window with this phase's criteria",
)
@click.option(
    "--target",
    type=click.Choice(["local", "kubernetes"]),
    help="with --from/--to: the target behind Prometheus (local: HPA checks do not apply)",
)
@click.option(
    "--results-root",
    type=click.Path(path_type=Path, file_okay=False),
    help="where earlier runs live, for relative criteria (default: RESULTS_DIR's parent)",
)
@click.pass_context
def gate(
    ctx: click.Context,
    results_dir: Path | None,
    spec: Path | None,
    prometheus_url: str | None,
    from_: str | None,
    to: str | None,
    out_dir: Path | None,
    phase: str,
    target: str | None,
    results_root: Path | None,
) -> None:
    """Judge RESULTS_DIR (a run's results folder), or a window --from/--to, against SLO specs.

    Prints a table, writes slo.json and junit.xml. Exit 0 pass or warning, 1 fail,
    2 inconclusive (no data is never a pass) or error (e.g. Prometheus unreachable).
    """
    from slo import gate as slo_gate
    from slo.run import parse_time
    from slo.table import render

    if prometheus_url is not None and not prometheus_url.startswith(("http://", "https://")):
        raise InputError("command line", "--prometheus",
                         f"expected an http(s)://host:port URL, got {prometheus_url!r}")
    window_options = [
        name
        for name, value in (("--from", from_), ("--to", to), ("--out", out_dir))
        if value is not None
    ]
    if results_dir is not None:
        if window_options:
            raise InputError(
                "command line",
                window_options[0],
                "give either RESULTS_DIR or --from/--to, not both",
            )
        result = slo_gate.evaluate_run(
            results_dir, spec=spec, prometheus_url=prometheus_url, results_root=results_root
        )
    else:
        if from_ is None:
            raise InputError(
                "command line",
                "RESULTS_DIR",
                "give a run's results folder, or a window with --from (and --to)",
            )
        local_url = _state_prometheus_url()
        url = prometheus_url or local_url
        if target is None and url is not None and url == local_url:
            target = "local"  # the running local target's Prometheus: no HPA there
        if not url:
            raise InputError(
                "command line",
                "--prometheus",
                "required with --from/--to when no local target runs",
            )
        start = parse_time(from_, option="--from")
        end = parse_time(to or "now", option="--to")
        result = slo_gate.evaluate_window(
            start,
            end,
            prometheus_url=url,
            spec=spec,
            out_dir=out_dir,
            phase=phase,
            target=target,
        )
    render(result)
    if result.error:
        click.echo(f"error: {result.error}", err=True)
    ctx.exit(result.exit_code)
