"""Prometheus metrics of one proxy (docs/contracts.md §2).

The data path only bumps plain integers; this collector turns them into
samples when ``/metrics`` is scraped, so no lock is taken per connection.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from tradestorm.local.proxy.service import ServiceProxy


class ProxyCollector(Collector):
    def __init__(self, proxy: ServiceProxy) -> None:
        self.proxy = proxy

    def collect(self) -> Iterator[Metric]:
        p = self.proxy
        svc = [p.name]
        c = CounterMetricFamily("tradestorm_proxy_connections", "Connections accepted",
                                labels=["service"])
        c.add_metric(svc, p.connections_total)
        yield c
        g = GaugeMetricFamily("tradestorm_proxy_active_connections", "Open connections",
                              labels=["service"])
        g.add_metric(svc, len(p.connections))
        yield g
        g = GaugeMetricFamily("tradestorm_proxy_backends_healthy", "Backends passing health checks",
                              labels=["service"])
        g.add_metric(svc, p.pool.healthy_count)
        yield g
        g = GaugeMetricFamily("tradestorm_proxy_backends", "Backends configured",
                              labels=["service"])
        g.add_metric(svc, len(p.pool.backends))
        yield g
        g = GaugeMetricFamily("tradestorm_proxy_faults_active", "Active faults by kind",
                              labels=["service", "kind"])
        for kind, n in p.faults_by_kind().items():
            g.add_metric([p.name, kind], n)
        yield g
        g = GaugeMetricFamily("tradestorm_proxy_held_connections",
                              "Connections held by a blackhole", labels=["service"])
        g.add_metric(svc, p.held)
        yield g
        c = CounterMetricFamily("tradestorm_proxy_connect_failures",
                                "Failed connects to a backend", labels=["service"])
        c.add_metric(svc, p.connect_failures_total)
        yield c
        c = CounterMetricFamily("tradestorm_proxy_no_backend",
                                "Connections closed because no backend accepted them",
                                labels=["service"])
        c.add_metric(svc, p.no_backend_total)
        yield c
        c = CounterMetricFamily("tradestorm_proxy_bytes", "Bytes proxied",
                                labels=["service", "direction"])
        for direction, n in p.bytes_total.items():
            c.add_metric([p.name, direction], n)
        yield c


def registry_for(proxy: ServiceProxy) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ProxyCollector(proxy))
    return registry


def render(registry: CollectorRegistry) -> bytes:
    return generate_latest(registry)
