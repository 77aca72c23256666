"""Scale-to-zero outages of the Kubernetes driver: a service's Deployment, the database.

- ``database_outage``: ``chaosk8s.statefulset.actions.scale_statefulset`` to 0,
  then back to the replicas it had, and wait until they are ready again.
- ``service_outage``: ``chaosk8s.deployment.actions.scale_deployment`` to 0 and
  back. ``scale_deployment`` is undone by an HPA when scaling to a non-zero
  value; at 0 the HPA is inactive (ScalingDisabled), and the restore scales to
  ``max(original, hpa.minReplicas)`` so the HPA does not fight it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tradestorm_chaos.drivers.base import held_fault, wait_until
from tradestorm_chaos.drivers.kubernetes.api import KubeApi, ready_of, replicas_of
from tradestorm_chaos.errors import DriverError, FaultNotRemoved

RESTORE_TIMEOUT_S = 120.0


class ScaleOutages:
    """Workloads of one namespace scaled to zero for a while, and back."""

    def __init__(self, api: KubeApi, baseline: Callable[[], dict[str, Any]]) -> None:
        self.api = api
        self.baseline = baseline  # the namespace before any fault (its StatefulSets' replicas)

    # ------------------------------------------------------------------ faults

    def service_outage(self, service: str, duration_s: float) -> dict[str, Any]:
        from chaosk8s.deployment.actions import scale_deployment

        original = replicas_of(self.api.deployment(service))
        if not original:
            raise DriverError(f"deployment {service} already has 0 replicas: nothing to take down")
        return self._at_zero("service_outage", service, "deployment", service, original,
                             scale_deployment, self.restore_deployment, duration_s)

    def database_outage(self, duration_s: float) -> dict[str, Any]:
        from chaosk8s.statefulset.actions import scale_statefulset

        name = self.api.settings.database
        original = replicas_of(self.api.statefulset(name))
        if not original:
            raise DriverError(f"statefulset {name} already has 0 replicas")
        return self._at_zero("database_outage", "database", "statefulset", name, original,
                             scale_statefulset, self.restore_statefulset, duration_s)

    def _at_zero(self, action: str, target: str, kind: str, name: str, original: int,
                 scale: Callable[..., Any], restore: Callable[[str, int], None],
                 duration_s: float) -> dict[str, Any]:
        """Scale ``kind``/``name`` to 0 for ``duration_s`` seconds, then ``restore`` it."""

        def inject() -> dict[str, Any]:
            self._scale(kind, name, scale, 0, f"from {original} to 0")
            return {kind: name, "replicas": original}

        return held_fault(self.api.session, action=action, target=target,
                          args={"duration": duration_s},
                          describe=f"scale {kind} {name} to 0 (was {original})", inject=inject,
                          remove=lambda undo: restore(name, undo.get("replicas", original)),
                          duration_s=duration_s)

    def _scale(self, kind: str, name: str, scale: Callable[..., Any], replicas: int,
               how: str) -> None:
        self.api.mutate(f"scale {kind}/{name} {how}",
                        lambda: self.api.chaosk8s(scale, name=name, replicas=replicas,
                                                  ns=self.api.namespace))

    # ------------------------------------------------------------------ rollbacks

    def restore_deployment(self, service: str, replicas: int) -> None:
        """Scale the Deployment back to ``replicas`` (at least its HPA's minimum) if below."""
        from chaosk8s.deployment.actions import scale_deployment

        hpa = self.api.hpa_for(service)
        target = max(replicas, hpa["min_replicas"]) if hpa else replicas
        current = replicas_of(self.api.deployment(service))
        if current >= target:
            return
        self._scale("deployment", service, scale_deployment, target, f"back to {target}")
        if not self.api.session.dry_run and replicas_of(self.api.deployment(service)) < target:
            raise FaultNotRemoved(f"deployment {service} was not scaled back to {target}")

    def restore_statefulset(self, name: str, replicas: int) -> None:
        """Scale the StatefulSet back to ``replicas`` if below, and wait until they are ready."""
        from chaosk8s.statefulset.actions import scale_statefulset

        current = replicas_of(self.api.statefulset(name))
        if current < replicas:
            self._scale("statefulset", name, scale_statefulset, replicas, f"back to {replicas}")
        if self.api.session.dry_run:
            return
        if not wait_until(lambda: ready_of(self.api.statefulset(name)) >= replicas,
                          RESTORE_TIMEOUT_S):
            raise FaultNotRemoved(f"statefulset {name} did not get {replicas} ready replica(s) "
                                  f"back within {RESTORE_TIMEOUT_S:g}s")

    def restore_database(self) -> bool:
        """Bring the database back to its replicas (before the run, or before its outage);
        close its outages in the ledger. True when it was down."""
        ledger = self.api.session.ledger
        name = self.api.settings.database
        replicas = self.baseline()["statefulsets"].get(name) or 1
        for record in ledger.open_records():
            if record.action == "database_outage":
                replicas = max(replicas, record.undo.get("replicas", replicas))
        was_down = replicas_of(self.api.statefulset(name)) < replicas
        self.restore_statefulset(name, replicas)
        for record in ledger.open_records():
            if record.action == "database_outage":
                ledger.close(record)
        return was_down
