"""Client-side Prometheus metrics of one load process (docs/contracts.md §2).

``tradestorm_client_requests_total{endpoint,method,outcome}`` (outcome ``ok``,
``fail``, ``denied`` for a risk rejection, ``throttled`` for HTTP 429),
``tradestorm_client_request_duration_seconds{endpoint}`` (histogram) and
``tradestorm_client_users``. Each load process (local runner or worker) serves
its own registry on its own port; :mod:`loadtests.registration` tells the local
Prometheus where.

The hot path (one call per request) only bumps plain integers: the metrics are
exposed through a custom collector that builds the families at scrape time.
``prometheus_client``'s own Counter/Histogram take a lock per update, which
under Locust's gevent monkey-patching costs several times more than the update.
A load process is one OS thread (greenlets do not preempt pure Python code), so
the counters need no lock.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, make_wsgi_app
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector

OUTCOMES = ("ok", "fail", "denied", "throttled")
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 0.75, 1.0, 1.5, 2.5, 5.0, 10.0)


class _Latency:
    __slots__ = ("buckets", "total")

    def __init__(self) -> None:
        self.buckets = [0] * (len(BUCKETS) + 1)  # the last one is +Inf
        self.total = 0.0


class ClientMetrics(Collector):
    """The client metrics, their registry and (once started) their HTTP endpoint."""

    def __init__(self) -> None:
        self._requests: dict[tuple[str, str, str], int] = {}
        self._latency: dict[str, _Latency] = {}
        self._users: Callable[[], float] = lambda: 0.0
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(self)
        self._server: Any = None

    def observe(self, endpoint: str, method: str, outcome: str, seconds: float) -> None:
        """Count one request and record its latency (the hot path)."""
        key = (endpoint, method, outcome)
        self._requests[key] = self._requests.get(key, 0) + 1
        latency = self._latency.get(endpoint)
        if latency is None:
            latency = self._latency[endpoint] = _Latency()
        latency.buckets[bisect_left(BUCKETS, seconds)] += 1
        latency.total += seconds

    def request_listener(self) -> Callable[..., None]:
        """A listener for Locust's ``request`` event feeding these metrics (the one place
        requests are counted): outcome ``fail`` when Locust saw an exception, else the
        ``outcome`` the user put in the request's context (default ``ok``)."""
        requests, latencies, buckets = self._requests, self._latency, BUCKETS

        def on_request(
            request_type: str,
            name: str,
            response_time: float,
            exception: Any,
            context: dict[str, Any] | None = None,
            **_: Any,
        ) -> None:
            if exception is not None:
                outcome = "fail"
            elif context:
                outcome = context.get("outcome", "ok")
            else:
                outcome = "ok"
            key = (name, request_type, outcome)
            requests[key] = requests.get(key, 0) + 1
            latency = latencies.get(name)
            if latency is None:
                latency = latencies[name] = _Latency()
            seconds = response_time / 1000.0
            latency.buckets[bisect_left(buckets, seconds)] += 1
            latency.total += seconds

        return on_request

    def track_users(self, count: Callable[[], float]) -> None:
        """Report ``count()`` as the users gauge at every scrape."""
        self._users = count

    def collect(self) -> Iterator[Any]:
        requests = CounterMetricFamily(
            "tradestorm_client_requests",
            "Requests sent by the load generator, by outcome",
            labels=["endpoint", "method", "outcome"],
        )
        for (endpoint, method, outcome), value in sorted(self._requests.items()):
            requests.add_metric([endpoint, method, outcome], value)
        yield requests
        duration = HistogramMetricFamily(
            "tradestorm_client_request_duration_seconds",
            "Latency seen by the load generator (failed requests included)",
            labels=["endpoint"],
        )
        for endpoint, latency in sorted(self._latency.items()):
            cumulative, running = [], 0
            for bound, count in zip((*BUCKETS, float("inf")), latency.buckets, strict=True):
                running += count
                cumulative.append(("+Inf" if bound == float("inf") else repr(bound), running))
            duration.add_metric([endpoint], cumulative, latency.total)
        yield duration
        yield GaugeMetricFamily(
            "tradestorm_client_users",
            "Users running in this load process",
            value=float(self._users()),
        )

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
