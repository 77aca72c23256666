"""Chaos Toolkit actions: *what* to break, on whichever target the configuration names.

Use from an experiment as a Python provider, e.g.::

    - type: action
      name: kill-one-orders-replica
      provider:
        type: python
        module: tradestorm_chaos.actions
        func: kill_replicas
        arguments: {service: orders, count: 1}

Every fault has an explicit duration (it is held, then removed and the removal
verified, even when the run is interrupted) or is instantaneous
(``kill_replicas``). The rollbacks (``remove_faults``, ``restore_database``,
``restore_all``) are idempotent: running them when nothing is left is fine.
"""

from __future__ import annotations

from typing import Any

from tradestorm_chaos import limits
from tradestorm_chaos.drivers import driver_for
from tradestorm_chaos.limits import MAX_DURATION_S  # noqa: F401 - read by the runner
from tradestorm_chaos.session import current_session

__all__ = [
    "kill_replicas", "add_latency", "partition", "service_outage", "database_outage",
    "cpu_stress", "drain_node", "remove_faults", "restore_database", "restore_all",
]



def _service(service: Any) -> str:
    if not isinstance(service, str) or not service.strip():
        raise ValueError(f"service must be a non-empty string, got {service!r}")
    return service.strip()


def _int(name: str, value: Any) -> int:
    return int(limits.check(name, value))


def _duration(value: Any) -> float:
    return float(limits.check("duration", value))


def kill_replicas(service: str, count: int = 1,
                  configuration: dict[str, Any] | None = None) -> dict[str, Any]:
    """Kill ``count`` replicas of ``service`` (SIGKILL locally, pod deletion on Kubernetes)."""
    return driver_for(configuration).kill_replicas(_service(service),
                                                   _int("count", count))


def add_latency(service: str, ms: int, jitter_ms: int = 0, duration: float = 30,
                configuration: dict[str, Any] | None = None) -> dict[str, Any]:
    """Delay the traffic of ``service`` by ``ms`` ± ``jitter_ms`` for ``duration`` seconds."""
    return driver_for(configuration).add_latency(
        _service(service), _int("ms", ms), _int("jitter_ms", jitter_ms),
        _duration(duration))


def partition(service: str, duration: float = 30,
              configuration: dict[str, Any] | None = None) -> dict[str, Any]:
    """Blackhole ``service`` (no traffic in or out, connections hang) for ``duration`` seconds."""
    return driver_for(configuration).partition(_service(service), _duration(duration))


def service_outage(service: str, duration: float = 30,
                   configuration: dict[str, Any] | None = None) -> dict[str, Any]:
    """Take ``service`` down entirely (connections refused / no pods) for ``duration`` seconds."""
    return driver_for(configuration).service_outage(_service(service), _duration(duration))


def database_outage(duration: float = 30,
                    configuration: dict[str, Any] | None = None) -> dict[str, Any]:
    """Stop the database for ``duration`` seconds, then start it and wait until it is up."""
    return driver_for(configuration).database_outage(_duration(duration))


def cpu_stress(service: str, duration: float = 60, workers: int = 2, load: int = 90,
               configuration: dict[str, Any] | None = None) -> dict[str, Any]:
    """Burn CPU in every pod of ``service`` (Kubernetes only: Chaos Mesh StressChaos)."""
    return driver_for(configuration).cpu_stress(
        _service(service), _duration(duration), _int("workers", workers),
        _int("load", load))


def drain_node(service: str, duration: float = 60,
               configuration: dict[str, Any] | None = None) -> dict[str, Any]:
    """Cordon a node running ``service`` and evict its pods (Kubernetes only), then uncordon."""
    return driver_for(configuration).drain_node(_service(service), _duration(duration))


def remove_faults(service: str | None = None,
                  configuration: dict[str, Any] | None = None) -> list[str]:
    """Rollback: remove every network fault or outage on ``service`` (all services when None)."""
    return driver_for(configuration).remove_faults(
        _service(service) if service is not None else None)


def restore_database(configuration: dict[str, Any] | None = None) -> bool:
    """Rollback: start the database if it is stopped; True when it had to be started."""
    return driver_for(configuration).restore_database()


def restore_all(configuration: dict[str, Any] | None = None) -> list[str]:
    """Rollback: undo every fault of this run still open, remove every fault, start the database."""
    driver = driver_for(configuration)
    done: list[str] = []
    for record in current_session().ledger.open_records():
        driver.undo(record)
        done.append(f"{record.action}:{record.target}")
    done += driver.remove_faults(None)
    if driver.restore_database():
        done.append("database started")
    return done
