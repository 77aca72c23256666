"""Chaos Toolkit probes: is the platform steady, on whichever target the configuration names.

Readiness probes return a bool (use ``tolerance: true``); each can wait up to
``timeout`` seconds for the condition, which is how a steady-state check after
a fault expresses "recovers within N seconds". They never raise for a merely
unready service (chaostoolkit-kubernetes' ``deployment_partially_available``
raises when no replica is available; these return False), only for a target
that cannot be asked at all.

The SLO probes ask Prometheus through the SLO engine (``slo``): ``slo_holds``
judges a named objective of an SLO spec over the last ``window`` seconds, or a
bare PromQL expression against a threshold. No data is never a pass: it
raises, so the probe fails and the hypothesis is not met.
"""

from __future__ import annotations

import math
import operator
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tradestorm_chaos import limits
from tradestorm_chaos.drivers import driver_for
from tradestorm_chaos.drivers.base import wait_until
from tradestorm_chaos.errors import ChaosError, TargetUnavailable, UnsupportedOnTarget
from tradestorm_chaos.session import current_session

__all__ = [
    "service_ready", "all_services_ready", "replicas_ready", "database_available",
    "slo_holds", "outbox_drained", "hpa_scaled_out",
]

OPS: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
    "==": operator.eq, "!=": operator.ne,
}


class NoData(ChaosError):
    """Prometheus had no sample for the query in the window: inconclusive, never a pass."""


def _timeout(value: Any) -> float:
    return float(limits.check("timeout", value))


def service_ready(service: str, timeout: float = 0,
                  configuration: dict[str, Any] | None = None) -> bool:
    """True when ``service`` answers ready (through its proxy / has ready endpoints)."""
    driver = driver_for(configuration)
    return wait_until(lambda: driver.service_ready(service), _timeout(timeout),
                      session=current_session())


def all_services_ready(timeout: float = 0,
                       configuration: dict[str, Any] | None = None) -> bool:
    """True when every service of the platform answers ready."""
    driver = driver_for(configuration)
    services = driver.services()
    if not services:
        raise TargetUnavailable("the target lists no service")
    return wait_until(lambda: all(driver.service_ready(s) for s in services), _timeout(timeout),
                      session=current_session())


def replicas_ready(service: str, minimum: int | None = None, timeout: float = 0,
                   configuration: dict[str, Any] | None = None) -> bool:
    """True when ``service`` has ``minimum`` ready replicas (default: all it should have)."""
    driver = driver_for(configuration)

    def ok() -> bool:
        ready, desired = driver.replicas(service)
        wanted = desired if minimum is None else int(limits.check("minimum", minimum))
        return wanted > 0 and ready >= wanted

    return wait_until(ok, _timeout(timeout), session=current_session())


def database_available(timeout: float = 0,
                       configuration: dict[str, Any] | None = None) -> bool:
    """True when the database runs (local: the supervisor says so; Kubernetes: pod ready)."""
    driver = driver_for(configuration)
    return wait_until(driver.database_up, _timeout(timeout), session=current_session())


def hpa_scaled_out(service: str, timeout: float = 120, above: int | None = None,
                   required: bool = False,
                   configuration: dict[str, Any] | None = None) -> bool:
    """Kubernetes only: True once the HPA of ``service`` runs more replicas than ``above``
    (default: its ``minReplicas``) within ``timeout`` seconds.

    With ``required`` it raises instead of returning False, so that a probe in
    the method (where Chaos Toolkit has no tolerance) fails the run.
    """
    driver = driver_for(configuration)
    hpa_of = getattr(driver, "hpa", None)
    if hpa_of is None:
        raise UnsupportedOnTarget("hpa_scaled_out runs on the kubernetes target only")
    first = hpa_of(service)
    if first is None:
        raise TargetUnavailable(f"no HorizontalPodAutoscaler targets deployment {service}")
    floor = first["min_replicas"] if above is None else int(limits.check("above", above))

    def scaled() -> bool:
        hpa = hpa_of(service)
        return hpa is not None and max(hpa["current_replicas"], hpa["desired_replicas"]) > floor

    ok = wait_until(scaled, _timeout(timeout), interval_s=1.0, session=current_session())
    if required and not ok:
        last = hpa_of(service) or {}
        raise ChaosError(f"the HPA of {service} did not scale out above {floor} replicas within "
                         f"{float(timeout):g}s (current {last.get('current_replicas')}, "
                         f"desired {last.get('desired_replicas')})")
    return ok


# ---------------------------------------------------------------------- SLO probes


def _prometheus_url(configuration: dict[str, Any] | None) -> str:
    url = driver_for(configuration).prometheus_url()
    if not url:
        raise TargetUnavailable("no Prometheus URL: set configuration "
                                "'tradestorm_prometheus_url' (the local target provides one)")
    return url


def _window_values(url: str, query: str, window: float, step: float) -> list[float]:
    from promclient.errors import PrometheusError
    from promclient.source import PrometheusSource

    end = time.time()
    with PrometheusSource(url, timeout_s=10) as source:
        try:
            series = source.range_query(query, end - window, end, step)
        except PrometheusError as exc:
            raise TargetUnavailable(str(exc)) from exc
    values = [v for s in series for v in s.values if v is not None and math.isfinite(v)]
    if not values:
        raise NoData(f"no data for {query!r} in the last {window:g}s at {url}")
    return values


def slo_holds(query: str | None = None, op: str = "<=", threshold: float | None = None,
              window: float = 30, aggregate: str = "max", objective: str | None = None,
              spec: str | None = None, phase: str = "baseline", step: float = 1,
              configuration: dict[str, Any] | None = None) -> bool:
    """Does an objective hold over the last ``window`` seconds?

    Either ``objective`` (a name in the SLO ``spec`` file, judged with that
    spec's criteria for ``phase``), or ``query`` ``op`` ``threshold`` with the
    samples reduced by ``aggregate`` (max, min, mean, last, p50, p95, p99...).
    Raises ``NoData`` when Prometheus has no sample: inconclusive, never a pass.
    """
    window = float(limits.check("window", window))
    step = float(limits.check("step", step))
    url = _prometheus_url(configuration)
    if objective is not None:
        return _objective_holds(url, objective, spec, phase, window, step, configuration)
    if query is None or threshold is None:
        raise ValueError("give either 'objective' (and 'spec') or 'query' and 'threshold'")
    if op not in OPS:
        raise ValueError(f"op must be one of {', '.join(OPS)}, got {op!r}")
    from slo.series import reduce

    value = reduce(_window_values(url, query, window, float(step)), aggregate)
    return OPS[op](value, float(threshold))


def _objective_holds(url: str, name: str, spec: str | None, phase: str, window: float,
                     step: float, configuration: dict[str, Any] | None) -> bool:
    from promclient.source import PrometheusSource
    from slo.objectives import evaluate_objective
    from slo.run import window_run
    from slo.validation import load_spec

    spec_path = spec or (configuration or {}).get("tradestorm_slo_spec")
    if not spec_path:
        raise ValueError("an objective needs 'spec' (or configuration 'tradestorm_slo_spec')")
    loaded = load_spec(Path(spec_path))
    found = loaded.objective(name)
    if found is None:
        raise ValueError(f"no objective {name!r} in {spec_path}")
    if phase not in found.phases:
        raise ValueError(f"objective {name!r} has no criteria for phase {phase!r} "
                         f"(it has: {', '.join(found.phases)})")
    end = time.time()
    run = window_run(end - window, end, phase=phase, prometheus_url=url)
    with PrometheusSource(url, timeout_s=10) as source:
        fetched = source.range_queries(found.sli.queries, run.start, run.end, step)
    result = evaluate_objective(found, phase, run, fetched, step)
    if result.verdict in ("pass", "warning"):
        return True
    if result.verdict == "fail":
        return False
    raise NoData(f"objective {name!r}: {result.verdict}: {result.detail}")


def outbox_drained(timeout: float = 60, at_most: int = 0,
                   configuration: dict[str, Any] | None = None) -> bool:
    """True once at most ``at_most`` order events wait in the outbox (fills have caught up),
    within ``timeout`` seconds.

    Reads ``max(tradeplat_outbox_pending)`` from Prometheus, evaluated only at
    instants after the probe started, so a value from before a fault cannot pass.
    """
    limit = int(limits.check("at_most", at_most))
    url = _prometheus_url(configuration)
    started = time.time()

    def drained() -> bool:
        from promclient.source import PrometheusSource

        with PrometheusSource(url, timeout_s=5) as source:
            series = source.range_query("max(tradeplat_outbox_pending)", started, time.time(), 1)
        fresh = [v for s in series for t, v in zip(s.times, s.values, strict=False)
                 if t >= started and v is not None]
        return bool(fresh) and fresh[-1] <= limit

    return wait_until(drained, _timeout(timeout), interval_s=1.0, session=current_session())
