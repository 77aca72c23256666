# ruff: noqa: E501  (YAML lines)
"""The gate against live metrics of the local target (real services, real Prometheus,
recording rules of slo/rules evaluated by it)."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from slo.gate import evaluate_window
from slo.timeseries import export_timeseries

LIVE_SPEC = """\
apiVersion: openslo/v1
kind: SLI
metadata: {name: gateway-availability, labels: {tradestorm.dev/side: server}}
spec:
  ratioMetric:
    counter: false
    bad:
      metricSource: {type: Prometheus, spec: {query: 'service:http_requests:rate10s{service="gateway"} * service:http_errors:ratio_rate10s{service="gateway"} or service:http_requests:rate10s{service="gateway"} * 0'}}
    total:
      metricSource: {type: Prometheus, spec: {query: 'service:http_requests:rate10s{service="gateway"}'}}
---
apiVersion: openslo/v1
kind: SLI
metadata: {name: gateway-p99, labels: {tradestorm.dev/side: server, tradestorm.dev/unit: s}}
spec:
  thresholdMetric:
    metricSource: {type: Prometheus, spec: {query: 'service:http_latency_seconds:p99_10s{service="gateway"}'}}
---
apiVersion: openslo/v1
kind: SLI
metadata: {name: replicas-ready, labels: {tradestorm.dev/side: server}}
spec:
  thresholdMetric:
    metricSource: {type: Prometheus, spec: {query: 'min(service:replicas_ready / on(service) service:replicas_desired)'}}
---
apiVersion: openslo/v1
kind: SLI
metadata: {name: gateway-throughput, labels: {tradestorm.dev/side: server, tradestorm.dev/unit: req/s}}
spec:
  thresholdMetric:
    metricSource: {type: Prometheus, spec: {query: 'service:http_requests:rate10s{service="gateway"}'}}
---
apiVersion: tradestorm.dev/v1
kind: ResilienceSpec
metadata: {name: live}
spec:
  integrity: false
  objectives:
    - {name: gateway-availability, sli: gateway-availability, op: ">=", phases: {baseline: {target: 0.99}}}
    - {name: gateway-p99, sli: gateway-p99, aggregate: max, op: "<=", phases: {baseline: {target: 2.0}}}
    - {name: replicas-ready, sli: replicas-ready, aggregate: min, op: ">=", phases: {baseline: {target: 1}}}
    - {name: traffic-seen, sli: gateway-throughput, aggregate: mean, op: ">", phases: {baseline: {target: 1}}}
"""


@pytest.fixture(scope="module")
def live_window(local_target):
    """Drive ~9 s of real traffic through the gateway; return the measured window."""
    local_target.heal()  # the target is shared: start from a healthy one
    accounts = json.loads(local_target.accounts_file.read_text())["accounts"]
    headers = {"X-API-Key": accounts[0]["api_key"]}
    start = time.time()
    statuses = []
    with httpx.Client(base_url=local_target.gateway_url, headers=headers, timeout=5) as client:
        while time.time() - start < 9:
            statuses.append(client.get("/v1/marketdata/symbols").status_code)
            time.sleep(0.05)
    assert statuses.count(200) > 30, statuses[-10:]
    time.sleep(2.5)  # let the scrape (1 s) and the recording rules (1 s) catch up
    # the first seconds: the 10 s rates are still warming up
    return start + 4, time.time() - 1


def test_gate_passes_on_live_server_side_slis(tmp_path, local_target, live_window):
    spec = tmp_path / "live.yaml"
    spec.write_text(LIVE_SPEC)
    start, end = live_window
    result = evaluate_window(
        start,
        end,
        prometheus_url=local_target.prometheus_url,
        spec=spec,
        out_dir=tmp_path / "out",
        phase="baseline",
        target="local",
    )
    by_name = {o.name: o for o in result.objectives}
    assert {o.verdict for o in result.objectives} == {"pass"}, [o.detail for o in result.objectives]
    assert by_name["traffic-seen"].value > 1, by_name["traffic-seen"].detail
    assert by_name["gateway-availability"].value == pytest.approx(1.0)
    assert 0 < by_name["gateway-p99"].value < 2.0
    assert by_name["replicas-ready"].value == 1
    assert result.verdict == "pass", result.reasons
    assert json.loads((tmp_path / "out" / "slo.json").read_text())["verdict"] == "pass"


def test_reference_spec_without_load_generator_is_inconclusive(local_target, live_window):
    # the client-side SLIs need the load generator: no data, so never a pass
    start, end = live_window
    result = evaluate_window(
        start, end, prometheus_url=local_target.prometheus_url, phase="baseline", target="local"
    )
    client = [o for o in result.objectives if o.side == "client"]
    assert client and {o.verdict for o in client} == {"no_data"}
    server = {o.name: o for o in result.objectives if o.side == "server"}
    assert server["server-availability"].verdict == "pass"
    assert result.verdict == "inconclusive" and result.exit_code == 2


def test_timeseries_snapshot_of_live_target(tmp_path, local_target, live_window):
    start, end = live_window
    path = export_timeseries(local_target.prometheus_url, start, end, tmp_path / "timeseries.json")
    doc = json.loads(path.read_text())
    series = {(s["panel"], s["name"]): s for s in doc["series"]}
    throughput = [v for _, v in series[("throughput", "server")]["points"] if v is not None]
    assert throughput and max(throughput) > 1
    assert {v for _, v in series[("database_up", "database")]["points"]} == {1}
    # no error happened: the error rate is 0, not missing
    assert {v for _, v in series[("error_rate", "server")]["points"]} == {0}
    replicas = {s["name"] for s in doc["series"] if s["panel"] == "replicas_ready"}
    assert {"gateway", "orders", "risk", "portfolio", "marketdata", "analytics"} <= replicas


def test_cli_window_defaults_to_the_running_local_target(
    tmp_path, local_target, live_window, monkeypatch
):
    from click.testing import CliRunner

    from tradestorm.cli import cli

    monkeypatch.setenv("TRADESTORM_STATE_DIR", str(local_target.state_dir))
    spec = tmp_path / "live.yaml"
    spec.write_text(LIVE_SPEC)
    start, end = live_window
    outcome = CliRunner().invoke(
        cli,
        [
            "gate",
            "--spec",
            str(spec),
            "--from",
            f"{start:.3f}",
            "--to",
            f"{end:.3f}",
            "--phase",
            "baseline",
            "--out",
            str(tmp_path / "out"),
        ],
    )
    assert outcome.exit_code == 0, outcome.output
    saved = json.loads((tmp_path / "out" / "slo.json").read_text())
    assert saved["prometheus_url"] == local_target.prometheus_url
    assert saved["target"] == "local"  # inferred from the state folder
    assert saved["verdict"] == "pass"
