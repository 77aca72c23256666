"""Prometheus metrics of one service replica (names: docs/contracts.md §2).

Each app owns its registry, so several apps can live in one process (tests)
without clashing, and ``/metrics`` shows exactly this app's series.
"""

from __future__ import annotations

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    PlatformCollector,
    ProcessCollector,
)

LATENCY_BUCKETS = (
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 0.75, 1.0, 1.5,
    2.5, 5.0, 10.0,
)


class Metrics:
    """Every metric a tradeplat service may export; unused ones stay empty."""

    def __init__(self, service: str, replica: str = "", version: str = "") -> None:
        self.service = service
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        ProcessCollector(registry=r)
        PlatformCollector(registry=r)
        self.http_requests = Counter(
            "http_requests_total", "HTTP requests answered", ["route", "method", "status"],
            registry=r,
        )
        self.http_duration = Histogram(
            "http_request_duration_seconds", "HTTP request latency", ["route", "method"],
            buckets=LATENCY_BUCKETS, registry=r,
        )
        self.http_in_flight = Gauge(
            "http_requests_in_flight", "HTTP requests being served", registry=r
        )
        self.orders = Counter(
            "tradeplat_orders_total", "Orders by status when the submission answered",
            ["status", "type"], registry=r,
        )
        self.fills = Counter(
            "tradeplat_fills_total", "Fills executed (two per trade)", ["symbol"], registry=r
        )
        self.risk_denials = Counter(
            "tradeplat_risk_denials_total", "Orders denied by a pre-trade check", ["reason"],
            registry=r,
        )
        self.outbox_pending = Gauge(
            "tradeplat_outbox_pending", "Outbox events not yet delivered", registry=r
        )
        self.outbox_lag = Gauge(
            "tradeplat_outbox_lag_seconds",
            "Age of the oldest undelivered outbox event (0 when none)", registry=r,
        )
        self.outbox_delivered = Counter(
            "tradeplat_outbox_delivered_total", "Outbox events applied to the ledger", registry=r
        )
        self.outbox_poison = Gauge(
            "tradeplat_outbox_poison_events",
            "Outbox events this relay could not read and set aside (still pending)", registry=r,
        )
        self.ready = Gauge("tradeplat_ready", "1 while the replica is ready", registry=r)
        self.dependency_up = Gauge(
            "tradeplat_dependency_up", "1 while a dependency answers", ["dependency"], registry=r
        )
        self.upstream_retries = Counter(
            "tradeplat_upstream_retries_total", "Calls to another service retried",
            ["dependency"], registry=r,
        )
        Gauge(
            "tradeplat_build_info", "Always 1; identifies the replica",
            ["service", "replica", "version"], registry=r,
        ).labels(service, replica, version).set(1)
        self.analytics_seconds = Histogram(
            "tradeplat_analytics_compute_seconds", "CPU time of one risk computation",
            buckets=(0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10), registry=r,
        )
