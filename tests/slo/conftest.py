"""One real Prometheus per test session, loaded with known SLI data.

Layout (Unix seconds, ``B`` = the labelled cases' run start, three hours ago):

* labelled cases (``case="..."``) share one run shape: baseline [B, B+60],
  fault [B+60, B+90.4], recovery [B+90.4, B+150];
* HPA series for HPAs ``analytics`` (scales out 23 s after the fault phase
  starts, hits maxReplicas 5, scales in) and ``orders`` (flaps);
* ``R`` = B+2400: an unlabelled, healthy run for the reference spec (far
  enough from the labelled cases that Prometheus' 5 min lookback cannot mix them);
* ``S`` = B+4800: the same run, but analytics (CPU-heavy by design) answers in
  2.6 s at p99 while order entry stays fast (latency judged per route class).
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from slo_promdata import OpenMetrics, build_tsdb, running_prometheus

FAULT_END_OFFSET = 90.4
RECOVERED_OFFSET = 98  # first good sample of case "rec": true recovery in (97, 98] after B


@dataclass(frozen=True)
class Known:
    url: str
    base: float  # B
    ref: float  # R
    slow_analytics: float  # S

    def phases(self, start: float | None = None) -> list[tuple[str, float, float]]:
        b = self.base if start is None else start
        return [
            ("baseline", b, b + 60),
            ("fault", b + 60, b + FAULT_END_OFFSET),
            ("recovery", b + FAULT_END_OFFSET, b + 150),
        ]

    def fault(
        self, start: float | None = None, action: str = "kill_replicas", target: str = "orders"
    ) -> dict:
        b = self.base if start is None else start
        return {
            "action": action,
            "target": target,
            "args": {"count": 1},
            "start": b + 60,
            "end": b + FAULT_END_OFFSET,
        }


def _by_phase(b: float, baseline: float, fault: float, recovery: float):
    def value(t: float) -> float:
        if t < b + 60:
            return baseline
        if t <= b + FAULT_END_OFFSET:
            return fault
        return recovery

    return value


def known_data(b: float, r: float) -> OpenMetrics:
    om = OpenMetrics()
    end = b + 150
    p99 = "client:latency_seconds:p99_10s"
    om.add(p99, {"case": "good"}, b, end, _by_phase(b, 0.10, 0.40, 0.12))
    om.add(p99, {"case": "warn"}, b, end, _by_phase(b, 0.22, 0.40, 0.12))
    om.add(p99, {"case": "bad"}, b, end, _by_phase(b, 0.10, 1.50, 0.12))
    om.add(p99, {"case": "prev"}, b, end, _by_phase(b, 0.115, 0.40, 0.12))
    # a healthy but noisy machine: p99 wanders by up to +-40 % around 0.10 s in every phase
    om.add(p99, {"case": "noisy"}, b, end,
           lambda t: 0.10 * (1 + 0.4 * math.sin(t * 12.9898 + 78.233) * math.cos(t * 4.1414)))
    # the load generator not scraped for 30 s of the 60 s baseline (its slow answers then
    # never reach Prometheus): the 30 samples left look healthy
    om.add(p99, {"case": "hole"}, b, end,
           lambda t: None if b + 15 <= t < b + 45 else _by_phase(b, 0.10, 0.40, 0.12)(t))

    errors = "client:errors:ratio_rate10s"

    def rec(t: float) -> float:
        return 0.0 if t < b + 60 or t >= b + RECOVERED_OFFSET else 0.5

    om.add(errors, {"case": "rec"}, b, end, rec)
    om.add(errors, {"case": "norec"}, b, end, lambda t: 0.0 if t < b + 60 else 0.5)
    om.add(errors, {"case": "ratio"}, b, end, _by_phase(b, 0.001, 0.2, 0.0))
    om.add("client:requests:rate10s", {"case": "ratio"}, b, end, lambda t: 10.0)

    # counters: 9 of 10 events good per second; both reset to 0 at B+100 (a restart)
    def counter(per_s: float):
        return lambda t: per_s * (t - b) if t < b + 100 else per_s * (t - b - 100)

    om.add("tradestorm_test_good_events", {"case": "counter"}, b, end, counter(9))
    om.add("tradestorm_test_all_events", {"case": "counter"}, b, end, counter(10))

    multi = "service:http_errors:ratio_rate10s"
    om.add(multi, {"case": "multi", "service": "orders"}, b, end, lambda t: 0.001)
    om.add(multi, {"case": "multi", "service": "risk"}, b, end, lambda t: 0.05)

    # HPA analytics: 2 replicas; 23 s after the fault phase starts 3, then 5 (= max), back to 2
    def analytics(t: float) -> float:
        if t < b + 83:
            return 2
        if t < b + 90:
            return 3
        if t < b + 120:
            return 5
        return 2

    hpa = {"namespace": "tradestorm", "horizontalpodautoscaler": "analytics"}
    om.add("kube_horizontalpodautoscaler_status_current_replicas", hpa, b, end, analytics)
    om.add(
        "kube_horizontalpodautoscaler_status_desired_replicas",
        hpa,
        b,
        end,
        lambda t: analytics(t + 3),
    )
    om.add("kube_horizontalpodautoscaler_spec_max_replicas", hpa, b, end, lambda t: 5)

    # HPA orders: flaps 2 -> 3 -> 2 -> 3 -> 2, never at max (10)
    def flapping(t: float) -> float:
        return 3 if b + 70 <= t < b + 80 or b + 100 <= t < b + 110 else 2

    hpa_o = {"namespace": "tradestorm", "horizontalpodautoscaler": "orders"}
    om.add("kube_horizontalpodautoscaler_status_current_replicas", hpa_o, b, end, flapping)
    om.add("kube_horizontalpodautoscaler_status_desired_replicas", hpa_o, b, end, flapping)
    om.add("kube_horizontalpodautoscaler_spec_max_replicas", hpa_o, b, end, lambda t: 10)

    reference_run(om, r)
    reference_run(om, b + 4800, analytics_p99=2.6)
    return om


#: p99 latency (s) per route class in baseline, fault and recovery of the reference runs:
#: order entry fast, reads in between, analytics slow (CPU-heavy by design)
CLIENT_P99 = {"order-entry": (0.08, 0.45, 0.09), "reads": (0.2, 0.9, 0.25),
              "analytics": (0.7, 1.4, 0.8)}
SERVER_P99 = {"order-entry": (0.06, 0.4, 0.07), "reads": (0.15, 0.8, 0.2),
              "analytics": (0.6, 1.3, 0.7)}


RECOVERY_OFFSET = 2.6  # the reference runs' errors stop this long after the fault ends
LAG = 1.4  # a counter sample's scrape is this long before its (recorded) time


def reference_run(om: OpenMetrics, r: float, analytics_p99: float | None = None) -> None:
    """A healthy run for slo/specs/reference-platform.yaml: a fault that hurts a little,
    recovered 2.6 s after the fault ends. Every SLI of the reference spec has data.
    ``analytics_p99``: analytics' p99 (both sides) throughout instead."""
    end = r + 150
    fault_end = r + FAULT_END_OFFSET
    hurt = lambda during, ok: lambda t: during if r + 60 <= t < fault_end + 2 else ok  # noqa: E731
    om.add("client:requests:rate10s", {}, r, end, lambda t: 20.0)
    om.add("client:errors:ratio_rate10s", {}, r, end, hurt(0.02, 0.0))
    # every route mixed (the report's latency chart; the spec judges the route classes)
    om.add("client:latency_seconds:p99_10s", {}, r, end, _by_phase(r, 0.08, 0.6, 0.09))
    for route_class, p99 in CLIENT_P99.items():
        if route_class == "analytics" and analytics_p99 is not None:
            p99 = (analytics_p99,) * 3
        om.add("route_class:client_latency_seconds:p99_10s", {"route_class": route_class},
               r, end, _by_phase(r, *p99))
    # from the intended send time: the fault's stall shows in full (order entry is judged)
    om.add("route_class:client_intended_latency_seconds:p99_10s", {"route_class": "order-entry"},
           r, end, _by_phase(r, 0.08, 0.9, 0.09))
    for route_class, p99 in SERVER_P99.items():
        if route_class == "analytics" and analytics_p99 is not None:
            p99 = (analytics_p99 - 0.05,) * 3
        om.add("route_class:http_latency_seconds:p99_10s",
               {"service": "gateway", "route_class": route_class}, r, end, _by_phase(r, *p99))
    om.add("service:http_requests:rate10s", {"service": "gateway"}, r, end, lambda t: 20.0)
    om.add("service:http_requests:rate10s", {"service": "orders"}, r, end, lambda t: 12.0)
    for service in ("gateway", "orders"):
        om.add("service:http_errors:ratio_rate10s", {"service": service}, r, end, hurt(0.02, 0.0))
    om.add(
        "service:http_latency_seconds:p99_10s",
        {"service": "gateway"},
        r,
        end,
        _by_phase(r, 0.06, 0.5, 0.07),
    )
    for service in ("gateway", "orders"):
        om.add("service:replicas_desired", {"service": service}, r, end, lambda t: 2)
    om.add("service:replicas_ready", {"service": "gateway"}, r, end, lambda t: 2)
    om.add("service:replicas_ready", {"service": "orders"}, r, end, hurt(1, 2))
    om.add("platform:database_up", {}, r, end, lambda t: 1)
    # the slow-analytics run also misses 5 s of outbox samples in its baseline (92 % of
    # the phase stays covered): timeseries.json lists the hole for the report to draw
    hole = (r + 20, r + 25) if analytics_p99 is not None else None
    om.add("platform:outbox_lag_seconds", {}, r, end,
           lambda t: None if hole and hole[0] <= t < hole[1] else 0.5)
    # per-process counters, for the SLIs counted between a phase's bounds: 2 % of requests
    # fail from the fault's start until 2.6 s after its end, then none. Like a live
    # Prometheus, each recorded sample at t counts the events up to its scrape, LAG before
    # t (a scrape, then the rule's evaluation), and scraped_at says when that was.
    stop = fault_end + RECOVERY_OFFSET

    def failing(x: float) -> float:  # seconds of failing time in (r, x]
        return max(0.0, min(x, stop) - (r + 60)) if x > r + 60 else 0.0

    for instance in ("worker-1:9646", "worker-2:9646"):
        labels = {"instance": instance}
        om.add("instance:client_requests:total", labels, r, end,
               lambda t: 5000.0 + 10.0 * (t - LAG - r))
        om.add("instance:client_failures:total", labels, r, end,
               lambda t: 3.0 + 0.2 * failing(t - LAG))
        om.add("instance:client_requests:scraped_at", labels, r, end, lambda t: t - LAG)
    for service, rate in (("gateway", 20.0), ("orders", 12.0)):
        labels = {"service": service, "instance": f"{service}:8000"}
        om.add("instance:http_requests:total", labels, r, end,
               lambda t, rate=rate: 9000.0 + rate * (t - LAG - r))
        om.add("instance:http_errors:total", labels, r, end,
               lambda t, rate=rate: 7.0 + rate * 0.02 * failing(t - LAG))
        om.add("instance:http_requests:scraped_at", labels, r, end, lambda t: t - LAG)


@pytest.fixture(scope="session")
def known(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Known]:
    folder: Path = tmp_path_factory.mktemp("prometheus-known")
    now = time.time()
    base = float(int(now // 60) * 60 - 3 * 3600)
    ref = base + 2400
    tsdb = build_tsdb(known_data(base, ref), folder)
    with running_prometheus(tsdb, folder) as url:
        yield Known(url=url, base=base, ref=ref, slow_analytics=base + 4800)
