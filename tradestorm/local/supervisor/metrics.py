"""The supervisor's metrics (docs/contracts.md §2): what kube-state-metrics shows on Kubernetes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from tradestorm.local.supervisor.parts import Parts


class SupervisorCollector(Collector):
    def __init__(self, parts: Parts) -> None:
        self.parts = parts

    def collect(self) -> Iterator[Metric]:
        parts = self.parts
        desired = GaugeMetricFamily("tradestorm_replicas_desired", "Replicas wanted per service",
                                    labels=["service"])
        ready = GaugeMetricFamily("tradestorm_replicas_ready", "Replicas passing /readyz",
                                  labels=["service"])
        restarts = CounterMetricFamily("tradestorm_replica_restarts",
                                       "Replica restarts by the supervisor", labels=["service"])
        for service, replicas in parts.replicas.items():
            desired.add_metric([service], len(replicas))
            ready.add_metric([service], sum(1 for r in replicas if r.ready))
            restarts.add_metric([service], sum(r.restarts for r in replicas))
        yield desired
        yield ready
        yield restarts
        db = GaugeMetricFamily("tradestorm_database_up", "PostgreSQL accepts connections (0/1)")
        db.add_metric([], 1 if parts.database.up else 0)
        yield db
        db_restarts = CounterMetricFamily("tradestorm_database_restarts",
                                          "PostgreSQL restarts after a crash")
        db_restarts.add_metric([], parts.database.restarts)
        yield db_restarts
        up = GaugeMetricFamily("tradestorm_component_up", "Helper process running (0/1)",
                               labels=["component"])
        for helper in (parts.proxy, parts.prometheus):
            if helper is not None:
                up.add_metric([helper.name], 1 if helper.running else 0)
        yield up


def registry_for(parts: Parts) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(SupervisorCollector(parts))
    return registry
