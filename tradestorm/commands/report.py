"""``tradestorm report``: the HTML resilience report of a run, or the index of many runs."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("report")
@click.argument("results_dir", required=False,
                type=click.Path(file_okay=False, path_type=Path))
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write the HTML (default: RESULTS_DIR/report.html, "
                   "or RESULTS_ROOT/index.html with --index).")
@click.option("--index", "index_root", type=click.Path(file_okay=False, path_type=Path),
              metavar="RESULTS_ROOT", help="Write one page listing every run under RESULTS_ROOT.")
def report(results_dir: Path | None, output: Path | None, index_root: Path | None) -> None:
    """Write the self-contained HTML resilience report of the run in RESULTS_DIR.

    The report is built from the results folder alone (nothing live) and loads
    nothing from the network. With --index, list the runs under RESULTS_ROOT
    with their verdicts and a trend per scenario. Exits 0 once the page is
    written, whatever the run's verdict (the verdict is `tradestorm gate`'s);
    2 when a results file is malformed.
    """
    from reports.build import build_index, build_report

    if (results_dir is None) == (index_root is None):
        raise click.UsageError("give either RESULTS_DIR or --index RESULTS_ROOT (one of them)")
    if index_root is not None:
        written = build_index(index_root, output)
    else:
        assert results_dir is not None
        written = build_report(results_dir, output)
    click.echo(str(written))
