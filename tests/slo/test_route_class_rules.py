"""The route-class recording rules of slo/rules/common.yaml, evaluated by Prometheus' own
rule engine (``promtool test rules``) over raw histograms: the gateway's routes are
classified by the rules, the load generator's requests carry the class it gave them
(loadtests/metrics.py), and every class name is one the SLO spec accepts."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from loadtests.metrics import ROUTE_CLASSES as CLIENT_CLASSES
from loadtests.metrics import route_class
from slo.spec import ROUTE_CLASSES

RULES = Path(__file__).resolve().parents[2] / "slo" / "rules" / "common.yaml"
SERVER = "http_request_duration_seconds_bucket"
CLIENT = "tradestorm_client_request_duration_seconds_bucket"


def _buckets(name: str, labels: dict[str, str], fast_per_s: int, slow_per_s: int) -> list[dict]:
    """A histogram growing by ``fast_per_s`` requests under 50 ms and ``slow_per_s`` between
    1 and 2.5 s every second."""
    text = ",".join(f'{k}="{v}"' for k, v in labels.items())
    rows = []
    for le, per_s in (("0.05", fast_per_s), ("1.0", fast_per_s),
                      ("2.5", fast_per_s + slow_per_s), ("+Inf", fast_per_s + slow_per_s)):
        rows.append({"series": f'{name}{{{text},le="{le}"}}', "values": f"0+{per_s}x40"})
    return rows


def _promtool_test(tmp_path: Path, series: list[dict], tests: list[dict]) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.fail("promtool is required (Debian package prometheus) and is not installed")
    (tmp_path / "common.yaml").write_text(RULES.read_text())
    (tmp_path / "test.yaml").write_text(yaml.safe_dump({
        "rule_files": ["common.yaml"],
        "evaluation_interval": "1s",
        "tests": [{"interval": "1s", "input_series": series, "promql_expr_test": tests}],
    }, sort_keys=False))
    done = subprocess.run([promtool, "test", "rules", "test.yaml"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def _p99_fast(per_s: int) -> float:
    """p99 of requests all under 50 ms: interpolated in the first bucket, as Prometheus does."""
    return 0.05 * ((0.99 * per_s) / per_s)


def _expect(expr: str, samples: dict[str, float], extra: str = "") -> dict:
    name = expr.split("{")[0]
    return {"expr": expr, "eval_time": "30s", "exp_samples": [
        {"labels": f'{name}{{{extra}route_class="{cls}"}}', "value": value}
        for cls, value in samples.items()]}


def test_the_gateway_routes_are_classified_by_the_rules(tmp_path: Path) -> None:
    gw = {"service": "gateway", "replica": "gateway-0"}
    series = (
        # order entry: submit and cancel, fast
        _buckets(SERVER, {**gw, "route": "/v1/orders", "method": "POST"}, 10, 0)
        + _buckets(SERVER, {**gw, "route": "/v1/orders/{order_id}", "method": "DELETE"}, 2, 0)
        # reads: listing and polling orders, symbols (fast), two slow reads in 100
        + _buckets(SERVER, {**gw, "route": "/v1/orders", "method": "GET"}, 30, 0)
        + _buckets(SERVER, {**gw, "route": "/v1/orders/{order_id}", "method": "GET"}, 30, 0)
        + _buckets(SERVER, {**gw, "route": "/v1/marketdata/symbols", "method": "GET"}, 38, 2)
        # analytics: CPU-heavy, every request slow
        + _buckets(SERVER, {**gw, "route": "/v1/analytics/risk/{symbol}", "method": "GET"}, 0, 5)
        # not a class: health checks, and the orders service's own routes
        + _buckets(SERVER, {**gw, "route": "/healthz", "method": "GET"}, 0, 50)
        + _buckets(SERVER, {"service": "orders", "replica": "orders-0", "route": "/v1/orders",
                            "method": "POST"}, 0, 50)
    )
    gateway = 'service="gateway",'
    _promtool_test(tmp_path, series, [
        _expect("route_class:http_requests:rate10s",
                {"order-entry": 12, "reads": 100, "analytics": 5}, gateway),
        # order entry is fast whatever analytics does; a 2 % slow tail shows in reads' p99
        # (rank 99 of 100: half-way into the 1..2.5 s bucket), not in order entry's
        _expect("route_class:http_latency_seconds:p99_10s",
                {"order-entry": _p99_fast(12), "reads": 1.75, "analytics": 2.485}, gateway),
        _expect("route_class:http_latency_seconds:p50_10s",
                {"order-entry": 0.025, "reads": 0.05 * 50 / 98, "analytics": 1.75}, gateway),
    ])


def test_the_client_rules_keep_the_load_generators_classes_apart(tmp_path: Path) -> None:
    def labels(endpoint: str, method: str) -> dict[str, str]:
        return {"endpoint": endpoint, "route_class": route_class(endpoint, method)}

    series = (
        _buckets(CLIENT, labels("/v1/orders", "POST"), 8, 0)
        + _buckets(CLIENT, labels("/v1/orders/{order_id}", "DELETE"), 2, 0)
        + _buckets(CLIENT, labels("/v1/orders/{order_id}", "GET"), 10, 0)
        + _buckets(CLIENT, labels("/v1/analytics/risk/{symbol}", "GET"), 0, 4)
        + [{"series": 'tradestorm_client_requests_total{endpoint="/v1/orders",method="POST",'
                      'route_class="order-entry",outcome="ok"}', "values": "0+9x40"},
           {"series": 'tradestorm_client_requests_total{endpoint="/v1/orders",method="POST",'
                      'route_class="order-entry",outcome="fail"}', "values": "0+1x40"},
           {"series": 'tradestorm_client_requests_total{endpoint="/v1/orders/{order_id}",'
                      'method="GET",route_class="reads",outcome="ok"}', "values": "0+10x40"}]
    )
    _promtool_test(tmp_path, series, [
        _expect("route_class:client_latency_seconds:p99_10s",
                {"order-entry": _p99_fast(10), "reads": _p99_fast(10), "analytics": 2.485}),
        _expect("route_class:client_errors:ratio_rate10s", {"order-entry": 0.1, "reads": 0}),
        _expect("route_class:client_requests:rate10s", {"order-entry": 10, "reads": 10}),
    ])


def test_both_sides_classify_into_the_classes_the_spec_accepts() -> None:
    assert CLIENT_CLASSES == ROUTE_CLASSES
    assert route_class("/v1/orders", "POST") == "order-entry"
    assert route_class("/v1/orders/{order_id}", "DELETE") == "order-entry"
    for endpoint in ("/v1/orders/{order_id}", "/v1/orders [list]", "/v1/portfolio",
                     "/v1/marketdata/quotes/{symbol}", "/v1/marketdata/symbols"):
        assert route_class(endpoint, "GET") == "reads", endpoint
    assert route_class("/v1/analytics/risk/{symbol}", "GET") == "analytics"
    text = RULES.read_text()
    for cls in ROUTE_CLASSES:
        assert f'"route_class", "{cls}"' in text, cls
