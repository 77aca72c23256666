"""Comparison with the previous run of the same scenario, and the index of runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from fixture_results import START, write_results
from report_html import external_urls, soup_of

from reports.build import build_index, build_report
from reports.compare import find_previous_run
from tradestorm.cli import cli

HOUR = 3600.0


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Folder names sort in another order than start times, on purpose."""
    root = tmp_path_factory.mktemp("results")
    write_results(root / "c-oldest", started_at=START, lost_orders=False, score=99.0)
    write_results(root / "a-previous", started_at=START + HOUR, lost_orders=False, score=96.0)
    write_results(root / "b-current", started_at=START + 2 * HOUR, lost_orders=True)
    write_results(root / "0-later", started_at=START + 3 * HOUR, lost_orders=False, score=95.0)
    write_results(root / "other", scenario="db-outage", started_at=START + 1.5 * HOUR,
                  lost_orders=False)
    nested = root / "nightly" / "2025-11-23"
    write_results(nested, scenario="db-outage", started_at=START + 30 * HOUR, lost_orders=True)
    broken = root / "broken"
    broken.mkdir()
    (broken / "run.json").write_text("{not json")
    return root


def test_previous_run_is_the_latest_earlier_one_of_the_same_scenario(root):
    found = find_previous_run(root / "b-current", "pod-kill-orders", START + 2 * HOUR)
    assert found == (root / "a-previous").resolve()
    assert find_previous_run(root / "c-oldest", "pod-kill-orders", START) is None


def test_a_run_on_another_target_is_no_baseline(tmp_path):
    write_results(tmp_path / "now", started_at=START + HOUR)
    old = write_results(tmp_path / "k8s", started_at=START + HOUR / 2)
    data = json.loads((old / "run.json").read_text())
    data["target"] = "kubernetes"
    (old / "run.json").write_text(json.dumps(data))
    write_results(tmp_path / "local-before", started_at=START)
    assert find_previous_run(tmp_path / "now", "pod-kill-orders", START + HOUR,
                             "local") == (tmp_path / "local-before").resolve()


def test_report_says_what_got_worse_and_better(root):
    soup = soup_of(build_report(root / "b-current"))
    intro = soup.find(id="comparison").find_next("p").get_text(" ", strip=True)
    assert "20251122T090000Z-pod-kill-orders" in intro  # a-previous's run id, not c-oldest's
    rows = {}
    for tr in soup.find("table", class_="comparison").find("tbody").find_all("tr"):
        cells = [td.get_text(" ", strip=True) for td in tr.find_all("td")]
        rows[(cells[0], cells[1])] = cells
    assert rows[("verdict", "gate verdict")][2:4] == ["pass", "fail"]
    assert rows[("verdict", "gate verdict")][5] == "worse"
    assert rows[("verdict", "score")][4] == "-25.5 %"
    latency = rows[("SLO · fault", "order-latency-p99")]
    assert latency[2:4] == ["118 ms (pass)", "910 ms (fail)"] and latency[5] == "worse"
    assert rows[("SLO · baseline", "order-latency-p99")][5] == "unchanged"
    assert rows[("integrity", "lost orders")][2:4] == ["0", "3"]
    assert rows[("recovery", "orders-latency-p99")][3] == "not recovered"
    assert rows[("recovery", "orders-error-ratio")][5] == "worse"  # 6 s -> 11 s
    directions = [cells[5] for cells in rows.values()]
    assert directions.index("worse") < directions.index("unchanged")  # worst news first


def test_a_better_run_shows_improvements(root):
    soup = soup_of(build_report(root / "0-later"))
    rows = [[td.get_text(" ", strip=True) for td in tr.find_all("td")]
            for tr in soup.find("table", class_="comparison").find("tbody").find_all("tr")]
    verdict = next(r for r in rows if r[1] == "gate verdict")
    assert verdict[2:4] == ["fail", "pass"] and verdict[5] == "better"


def test_index_lists_runs_newest_first_with_verdicts_and_links(root, tmp_path):
    build_report(root / "a-previous")
    index = build_index(root)
    assert index == root / "index.html"
    soup = soup_of(index)
    rows = soup.find("table", class_="runs").find("tbody").find_all("tr")
    paths = [tr.find_all("td")[1].find(class_="mono").get_text() for tr in rows]
    assert paths[:6] == ["nightly/2025-11-23", "0-later", "b-current", "other", "a-previous",
                         "c-oldest"]
    assert paths[6] == "broken"
    broken = rows[6].get_text(" ", strip=True)
    assert "not valid JSON" in broken and "error" in broken
    verdicts = [tr.find(class_="badge").get_text() for tr in rows]
    assert verdicts[:6] == ["fail", "pass", "fail", "pass", "pass", "pass"]
    links = {a["href"] for a in soup.find_all("a", href=True)}
    assert "a-previous/report.html" in links and "b-current/report.html" in links
    for href in links:
        assert (root / href).is_file()
    assert external_urls(index.read_text()) == []


def test_index_trend_per_scenario(root):
    soup = soup_of(build_index(root))
    rows = {tr.find("td").get_text(strip=True): [td for td in tr.find_all("td")]
            for tr in soup.find("table", class_="trends").find("tbody").find_all("tr")}
    assert set(rows) == {"pod-kill-orders", "db-outage"}
    pod = rows["pod-kill-orders"]
    assert [td.get_text(strip=True) for td in pod[1:6]] == ["4", "3", "pass", "95", "+23.5"]
    dots = pod[6].find("svg").find_all("circle")
    assert [d["fill"] for d in dots] == ["#16a34a", "#16a34a", "#dc2626", "#16a34a"]
    assert pod[6].find("polyline") is not None


def test_index_links_work_when_written_elsewhere(root, tmp_path):
    out = tmp_path / "site" / "runs.html"
    result = CliRunner().invoke(cli, ["report", "--index", str(root), "-o", str(out)])
    assert result.exit_code == 0, result.output
    soup = soup_of(out)
    for a in soup.find_all("a", href=True):
        assert (out.parent / a["href"]).resolve().is_file()


def test_index_of_a_missing_root_exits_2(tmp_path):
    result = CliRunner().invoke(cli, ["report", "--index", str(tmp_path / "none")])
    assert result.exit_code == 2 and "no such results root" in result.output


def test_empty_root_gives_an_empty_index(tmp_path):
    soup = soup_of(build_index(tmp_path))
    assert "No run found" in soup.get_text()


def test_unreadable_previous_run_is_a_note_not_a_crash(tmp_path):
    write_results(tmp_path / "now", started_at=START + HOUR)
    old = write_results(tmp_path / "before", started_at=START)
    (old / "slo.json").write_text("{")
    text = soup_of(build_report(tmp_path / "now")).find(id="comparison").find_next("p").get_text()
    assert "previous run could not be read" in text and "slo.json" in text
    assert json.loads((tmp_path / "now" / "run.json").read_text())["scenario"]
