"""timeseries.json: the report's panels snapshotted from a real Prometheus."""

from __future__ import annotations

import json

import pytest
from slo_promdata import free_port

from promclient.errors import PrometheusUnreachable
from slo.timeseries import export_timeseries

PANELS = {"throughput", "error_rate", "latency", "replicas_ready", "database_up", "outbox_lag"}


def test_export_known_reference_run(tmp_path, known):
    start, end = known.ref, known.ref + 150
    path = export_timeseries(known.url, start, end, tmp_path / "timeseries.json", step_s=1)
    doc = json.loads(path.read_text())
    assert doc["schema"] == 1 and doc["start"] == start and doc["end"] == end
    assert doc["step_seconds"] == 1
    assert {s["panel"] for s in doc["series"]} == PANELS
    by_name = {(s["panel"], s["name"]): s for s in doc["series"]}
    latency = {name for panel, name in by_name if panel == "latency"}
    assert latency == {
        "client_p50",
        "client_p95",
        "client_p99",
        "server_p50",
        "server_p95",
        "server_p99",
    }
    client_p99 = by_name[("latency", "client_p99")]
    assert client_p99["unit"] == "s" and len(client_p99["points"]) == 151
    assert client_p99["points"][0] == [start, pytest.approx(0.08)]
    assert client_p99["points"][70][1] == pytest.approx(0.6)  # during the fault
    # no p50 series exists in the known data: present, all null (the report says "no data")
    assert all(v is None for _, v in by_name[("latency", "client_p50")]["points"])
    replicas = [s for s in doc["series"] if s["panel"] == "replicas_ready"]
    assert {s["name"] for s in replicas} == {"gateway", "orders"}
    orders = next(s for s in replicas if s["name"] == "orders")
    assert orders["labels"] == {"service": "orders"}
    assert orders["points"][70][1] == 1 and orders["points"][0][1] == 2
    assert by_name[("throughput", "server")]["points"][10][1] == pytest.approx(20.0)


def test_export_with_prometheus_down_names_url(tmp_path):
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(PrometheusUnreachable, match=url):
        export_timeseries(url, 1000.0, 1010.0, tmp_path / "t.json")
    assert not (tmp_path / "t.json").exists()


def test_a_hole_is_listed_apart_from_the_points(tmp_path, known):
    """5 s without any outbox sample in the slow-analytics run (tests/slo/conftest.py)."""
    start = known.slow_analytics
    path = export_timeseries(known.url, start, start + 150, tmp_path / "timeseries.json")
    doc = json.loads(path.read_text())
    outbox = next(s for s in doc["series"] if s["panel"] == "outbox_lag")
    # the test Prometheus' 1 s lookback (its stand-in for staleness markers) fills the first
    assert outbox["holes"] == [[start + 21, start + 25]]
    complete = next(s for s in doc["series"] if s["name"] == "client_p99")
    assert complete["holes"] == []
