"""The report of a REAL run: the results folder of `tradestorm demo` (pod-kill-orders)
on the local target, saved under fixtures/ (journals and logs left out; the report
reads neither). Where the generated fixtures prove each section's logic, this
proves the report reads what the real producers wrote, unchanged."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from report_html import external_urls, soup_of

from reports.build import build_report

REAL_RUN = Path(__file__).parent / "fixtures" / "real-local-run-pod-kill-orders"


@pytest.fixture(scope="module")
def real_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run = tmp_path_factory.mktemp("real") / REAL_RUN.name
    shutil.copytree(REAL_RUN, run)
    return build_report(run)


def test_verdict_and_score_are_the_gates(real_report: Path) -> None:
    gate = json.loads((REAL_RUN / "slo.json").read_text())
    header = soup_of(real_report).find("header", id="summary").get_text(" ", strip=True)
    assert gate["verdict"] in header
    assert f"{gate['score']:.2f}" in header
    assert "pod-kill-orders" in header and "local" in header


def test_every_chart_of_the_real_run_has_data(real_report: Path) -> None:
    soup = soup_of(real_report)
    for panel in ("throughput", "error_rate", "latency_client", "latency_server",
                  "replicas_ready", "database_up", "outbox_lag"):
        section = soup.find("section", id=f"panel-{panel}")
        assert section is not None, panel
        assert section.find_all(["polyline", "path"]), f"{panel}: nothing drawn"
        assert "no data" not in section.get_text(" ", strip=True).lower(), panel
    # the orders replica that was killed shows as a dip to one ready replica
    replicas = soup.find("section", id="panel-replicas_ready").get_text(" ", strip=True)
    assert "orders" in replicas and "max 2 replicas" in replicas
    assert "kill_replicas orders" in soup.find("section", id="panel-throughput").get_text()


def test_integrity_recovery_and_experiment_as_the_producers_wrote_them(real_report) -> None:
    reconcile = json.loads((REAL_RUN / "reconcile.json").read_text())
    gate = json.loads((REAL_RUN / "slo.json").read_text())
    text = soup_of(real_report).get_text(" ", strip=True)
    assert f"{reconcile['acknowledged']} acknowledged" in text
    assert "0 lost" in text
    for recovery in gate["recovery"]:
        assert recovery["name"] in text
    assert "Experiment completed" in text and "residue clean" in text


def test_locust_statistics_per_endpoint_and_nothing_external(real_report: Path) -> None:
    html = real_report.read_text(encoding="utf-8")
    load = soup_of(real_report).find(id="load").find_next("table").get_text(" ", strip=True)
    for endpoint in ("POST /v1/orders", "GET /v1/portfolio"):
        assert endpoint in load, endpoint
    assert external_urls(html) == []
