"""Missing data is a note, malformed data an error naming the file, file content never markup."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from click.testing import CliRunner
from fixture_results import HOSTILE
from report_html import external_urls, soup_of

from reports.build import build_report
from reports.charts import Series, line_chart
from reports.errors import ResultsFileError, ResultsNotFoundError
from tradestorm.cli import cli

RESULT_FILES = ("run.json", "slo.json", "reconcile.json", "chaos-journal.json", "residue.json",
                "timeseries.json", "locust_stats.csv", "locust_stats_history.csv",
                "locust_failures.csv")


def _edit(path: Path, change) -> None:
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


def test_hostile_file_content_is_escaped(fresh_run):
    run = fresh_run(hostile=True)
    report = build_report(run)
    html = report.read_text(encoding="utf-8")
    soup = soup_of(report)
    assert soup.find_all("script") == [] and soup.find_all("img") == []
    assert "<script>" not in html and '<img src="https' not in html
    assert "&lt;script&gt;alert(" in html
    assert external_urls(html) == [] or all("evil.example" in u for u in external_urls(html))
    # the scenario name, an objective detail, a journal exception and a Locust error all
    # carried the payload; each shows as text
    assert soup.find("h1").get_text().endswith(HOSTILE)
    assert HOSTILE in soup.find("table", class_="failures").get_text()
    assert HOSTILE in soup.find("table", class_="activities").get_text()


def test_only_run_json_still_renders_with_notes_and_no_data_charts(tmp_path, fresh_run):
    full = fresh_run()
    bare = tmp_path / "bare"
    bare.mkdir()
    (bare / "run.json").write_text((full / "run.json").read_text())
    soup = soup_of(build_report(bare))
    assert soup.find(id="verdict").find(class_="big").get_text(strip=True) == "not evaluated"
    notes = soup.find(id="notes").get_text(" ", strip=True)
    for name in RESULT_FILES[1:]:
        assert name in notes
    charts = soup.find_all("svg", class_="chart")
    assert len(charts) == 7 and all("no data" in c.get_text() for c in charts)
    assert all(len(c.find_all("rect", class_="fault")) == 2 for c in charts)  # windows still shown
    text = soup.get_text(" ", strip=True)
    assert "inconclusive" in text and "whether orders were lost is unknown" in text


def test_missing_timeseries_falls_back_to_locust_history(fresh_run):
    run = fresh_run()
    (run / "timeseries.json").unlink()
    soup = soup_of(build_report(run))
    throughput = soup.find(id="panel-throughput")
    assert "Locust history" in throughput.find(class_="source").get_text()
    assert throughput.find_all("polyline", class_="series")
    assert "no data" in soup.find(id="panel-replicas_ready").get_text()


def test_gaps_and_non_finite_values_break_the_line_instead_of_failing(fresh_run):
    run = fresh_run()

    def holes(data):
        series = data["series"][0]["points"]
        for i in range(100, 110):
            series[i][1] = None
        data["series"][1]["points"] = [[t, None] for t, _ in data["series"][1]["points"]]
    _edit(run / "timeseries.json", holes)
    svg = soup_of(build_report(run)).find(id="panel-throughput").find("svg")
    lines = svg.find_all("polyline", class_="series")
    assert len(lines) == 3  # client: the fixture's own gap and this one split it in 3; server: none
    assert "no data" not in svg.get_text()
    legend = svg.find_parent("section").find(class_="legend").get_text(" ", strip=True)
    assert "server no data" in legend and "client max" in legend


def test_an_all_null_panel_says_no_data():
    chart = line_chart([Series("x", [(0.0, None), (1.0, math.nan)])], start=0, end=1)
    assert not chart.has_data and "no data" in chart.svg


@pytest.mark.parametrize("name", ["run.json", "slo.json", "reconcile.json", "chaos-journal.json",
                                  "residue.json", "timeseries.json"])
def test_malformed_json_names_the_file(fresh_run, name):
    run = fresh_run()
    (run / name).write_text('{"schema": 1,')
    with pytest.raises(ResultsFileError) as err:
        build_report(run)
    assert err.value.path == str(run / name)
    assert "not valid JSON" in str(err.value)
    assert not (run / "report.html").exists()


def test_cli_exits_2_naming_the_malformed_file(fresh_run):
    run = fresh_run()
    (run / "slo.json").write_text("[1, 2")
    result = CliRunner().invoke(cli, ["report", str(run)])
    assert result.exit_code == 2
    assert f"{run / 'slo.json'}" in result.output and "not valid JSON" in result.output


def test_wrong_field_type_names_the_field(fresh_run):
    run = fresh_run()
    _edit(run / "slo.json", lambda d: d["objectives"][3].update(value="fast"))
    with pytest.raises(ResultsFileError) as err:
        build_report(run)
    assert err.value.field == "objectives[3].value"
    assert "expected a number" in err.value.problem


def test_malformed_point_names_the_series_and_point(fresh_run):
    run = fresh_run()
    _edit(run / "timeseries.json", lambda d: d["series"][2]["points"].__setitem__(5, "x"))
    with pytest.raises(ResultsFileError) as err:
        build_report(run)
    assert err.value.field == "series[2].points[5]"


def test_malformed_locust_csv_names_row_and_column(fresh_run):
    run = fresh_run()
    path = run / "locust_stats.csv"
    lines = path.read_text().splitlines()
    cells = lines[2].split(",")
    cells[2] = "lots"
    lines[2] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n")
    result = CliRunner().invoke(cli, ["report", str(run)])
    assert result.exit_code == 2
    assert "locust_stats.csv" in result.output and "row 3 column 'Request Count'" in result.output


def test_locust_csv_without_its_header_is_an_error(fresh_run):
    run = fresh_run()
    (run / "locust_failures.csv").write_text("a,b\n1,2\n")
    with pytest.raises(ResultsFileError) as err:
        build_report(run)
    assert err.value.field == "Name"


def test_missing_or_empty_results_folder(tmp_path):
    with pytest.raises(ResultsNotFoundError):
        build_report(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ResultsNotFoundError, match="not a results folder"):
        build_report(tmp_path / "empty")
    result = CliRunner().invoke(cli, ["report", str(tmp_path / "empty")])
    assert result.exit_code == 2 and "RESULTS_DIR" in result.output


def test_cli_needs_exactly_one_of_dir_and_index(tmp_path):
    assert CliRunner().invoke(cli, ["report"]).exit_code == 2
    both = CliRunner().invoke(cli, ["report", str(tmp_path), "--index", str(tmp_path)])
    assert both.exit_code == 2 and "either RESULTS_DIR or --index" in both.output


def test_cli_writes_the_report_and_prints_its_path(fresh_run, tmp_path):
    run = fresh_run()
    out = tmp_path / "out" / "r.html"
    result = CliRunner().invoke(cli, ["report", str(run), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == str(out) and out.is_file()


def test_unwritable_output_is_a_clear_error(fresh_run, tmp_path):
    run = fresh_run()
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = CliRunner().invoke(cli, ["report", str(run), "-o", str(blocker / "r.html")])
    assert result.exit_code == 2 and "cannot write the report" in result.output


def test_long_run_stays_small_because_series_are_reduced():
    """A day at 1 s resolution: 86 400 points per series still draws a bounded chart
    that keeps each extreme."""
    points = [(float(t), 1.0 + (50.0 if t == 40_000 else 0.0) + (t % 7) * 0.01)
              for t in range(86_400)]
    chart = line_chart([Series("x", points)], start=0, end=86_399, unit="req/s")
    assert len(chart.svg) < 60_000
    assert chart.legend[0].maximum == pytest.approx(51.0, abs=0.1)
    coords = [tuple(map(float, p.split(","))) for p in
              chart.svg.split('points="')[1].split('"')[0].split()]
    assert min(y for _, y in coords) < 60  # the spike reaches the top of the plot


def test_interrupted_run_says_so_first(fresh_run):
    run = fresh_run()
    _edit(run / "run.json", lambda d: d.update(status="interrupted"))
    first = soup_of(build_report(run)).find(id="headline").find("li").get_text(" ", strip=True)
    assert first.startswith("The run interrupted")


def test_unknown_panel_and_unnamed_series_still_show(fresh_run):
    run = fresh_run()

    def change(data):
        data["series"].append({"panel": "cpu_usage", "name": "orders", "unit": "", "labels": {},
                               "points": [[data["start"] + i, 0.5] for i in range(10)]})
        for s in data["series"]:
            if s["panel"] == "replicas_ready":
                s["name"] = ""
    _edit(run / "timeseries.json", change)
    soup = soup_of(build_report(run))
    extra = [h.get_text() for h in soup.find(id="charts").find_all_next("h3")]
    assert "Cpu usage" in extra
    legend = soup.find(id="panel-replicas_ready").find(class_="legend").get_text(" ")
    assert "orders" in legend and "analytics" in legend


def test_runner_additions_to_run_json_are_shown(fresh_run):
    """tradestorm.runner adds description, stages, errors and interrupted_at to run.json."""
    run = fresh_run()

    def change(data):
        data.update(status="interrupted", interrupted_at=data["started_at"] + 200,
                    description="kill an orders replica <under load>",
                    errors=["reconcile: database unreachable"],
                    stages={"load": {"ok": True, "exit_code": 0},
                            "reconcile": {"ok": False, "error": "database unreachable"},
                            "gate": {"skipped": "interrupted"}})
    _edit(run / "run.json", change)
    soup = soup_of(build_report(run))
    header = soup.find("header", id="summary").get_text(" ", strip=True)
    assert "kill an orders replica <under load>" in header
    assert "load ok" in header and "reconcile failed database unreachable" in header
    assert "gate skipped: interrupted" in header
    headline = [li.get_text(" ", strip=True) for li in soup.find(id="headline").find_all("li")]
    assert headline[0].startswith("The run interrupted at T+3:20")
    assert headline[1] == "Runner error: reconcile: database unreachable"


def test_fault_without_end_is_shaded_to_the_end_of_the_run(fresh_run):
    run = fresh_run()
    _edit(run / "run.json", lambda d: d["faults"][0].update(end=None))
    svg = soup_of(build_report(run)).find(id="panel-throughput").find("svg")
    labels = [t.get_text() for t in svg.find_all("text", class_="fault-label")]
    assert labels[0] == "kill_replicas orders (no end recorded)"
    plot = svg.find("rect", class_="plot")
    fault = svg.find("rect", class_="fault")
    right = float(fault["x"]) + float(fault["width"])
    assert right == pytest.approx(float(plot["x"]) + float(plot["width"]), abs=1)


def test_reports_imports_nothing_from_the_harness():
    """DESIGN: reports reads files only; building a report loads no harness package."""
    import subprocess
    import sys

    code = ("import sys, reports.build; "
            "print(sorted({m.split('.')[0] for m in sys.modules}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=60).stdout
    loaded = set(out.strip().strip("[]").replace("'", "").split(", "))
    assert "reports" in loaded
    assert not loaded & {"tradestorm", "slo", "loadtests", "tradestorm_chaos", "tradeplat",
                         "locust", "chaoslib", "gevent", "prometheus_api_client"}


def test_index_escapes_hostile_scenario_names(tmp_path):
    from fixture_results import write_results

    from reports.build import build_index

    write_results(tmp_path / "r1", hostile=True)
    soup = soup_of(build_index(tmp_path))
    assert soup.find_all("script") == [] and soup.find_all("img") == []
    assert HOSTILE in soup.find("table", class_="trends").get_text()


def test_thousands_of_offending_orders_are_capped_and_counted(fresh_run):
    run = fresh_run()

    def many(data):
        data["violations"] = [{"check": "acknowledged_orders_exist", "order_ids": [f"o-{i}"],
                               "client_order_ids": [f"c-{i}"], "detail": "absent"}
                              for i in range(1200)]
        data["lost"] = 1200
    _edit(run / "reconcile.json", many)
    report = build_report(run)
    soup = soup_of(report)
    rows = soup.find("table", class_="offending").find("tbody").find_all("tr")
    assert len(rows) == 500
    assert "1200 violations" in soup.find(id="offending").find_next("h4").get_text(" ")
    assert "… and 700 more, listed in reconcile.json." in soup.get_text()
    assert report.stat().st_size < 2 * 1024 * 1024


def test_the_installed_command_exits_2_on_a_malformed_file(fresh_run):
    """The real entry point, in its own process."""
    import subprocess
    import sys

    run = fresh_run()
    (run / "timeseries.json").write_text("{oops")
    proc = subprocess.run([sys.executable, "-m", "tradestorm", "report", str(run)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.strip() == (f"error: {run / 'timeseries.json'}: field '(json)': not valid "
                                   "JSON: Expecting property name enclosed in double quotes at "
                                   "line 1 column 2")
    assert not (run / "report.html").exists()
