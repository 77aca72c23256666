"""Client-side Prometheus metrics of one load process (docs/contracts.md §2).

``tradestorm_client_requests_total{endpoint,method,outcome}`` (outcome ``ok``,
``fail``, ``denied`` for a risk rejection, ``throttled`` for HTTP 429),
``tradestorm_client_request_duration_seconds{endpoint}`` and
``tradestorm_client_users``. Each load process (local runner or worker) serves
its own registry on its own port; :mod:`loadtests.registration` tells the local
Prometheus where.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, make_wsgi_app

OUTCOMES = ("ok", "fail", "denied", "throttled")
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 0.75, 1.0, 1.5, 2.5, 5.0, 10.0)


class ClientMetrics:
    """The client metrics, their registry and (once started) their HTTP endpoint."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "tradestorm_client_requests",
            "Requests sent by the load generator, by outcome",
            ["endpoint", "method", "outcome"],
            registry=self.registry,
        )
        self.duration = Histogram(
            "tradestorm_client_request_duration_seconds",
            "Latency seen by the load generator (failed requests included)",
            ["endpoint"],
            buckets=BUCKETS,
            registry=self.registry,
        )
        self.users = Gauge(
            "tradestorm_client_users", "Users running in this load process", registry=self.registry
        )
        self._counters: dict[tuple[str, str, str], Any] = {}
        self._histograms: dict[str, Any] = {}
        self._server: Any = None

    def observe(self, endpoint: str, method: str, outcome: str, seconds: float) -> None:
        """Count one request and record its latency (children cached: this is the hot path)."""
        key = (endpoint, method, outcome)
        counter = self._counters.get(key)
        if counter is None:
            counter = self._counters[key] = self.requests.labels(endpoint, method, outcome)
        counter.inc()
        hist = self._histograms.get(endpoint)
        if hist is None:
            hist = self._histograms[endpoint] = self.duration.labels(endpoint)
        hist.observe(seconds)

    def track_users(self, count: Callable[[], float]) -> None:
        """Report ``count()`` as the users gauge at every scrape."""
        self.users.set_function(count)

    def serve(self, host: str = "127.0.0.1", port: int = 0) -> tuple[str, int]:
        """Serve ``/metrics`` from a gevent WSGI server; returns the bound ``(host, port)``."""
        from gevent.pywsgi import WSGIServer

        if self._server is None:
            self._server = WSGIServer(
                (host, port), make_wsgi_app(self.registry), log=None, error_log=None
            )
            self._server.start()
        return self._server.address[0], int(self._server.address[1])

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop(timeout=1)
            self._server = None
