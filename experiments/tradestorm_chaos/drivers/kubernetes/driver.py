"""``KubernetesDriver``: the ``Driver`` of the kubernetes target, built from this package's parts.

chaostoolkit-kubernetes (chaosk8s) plus the kubernetes client. Every call to the
cluster goes through ``api.KubeApi`` (kube context, allow-lists, dry-run, chaosk8s
calls); each kind of fault has its module:

- ``add_latency`` / ``cpu_stress`` / ``partition``: Chaos Mesh objects (``chaosmesh``);
- ``service_outage`` / ``database_outage``: a Deployment / the database's StatefulSet
  scaled to zero and back (``outages``);
- ``drain_node``: a node cordoned, the namespace's pods evicted, uncordoned (``drain``).

The driver itself kills pods, answers the probes, keeps the namespace's baseline
(before any fault), runs the rollbacks over the ledger and audits the residue:

- ``kill_replicas``: ``chaosk8s.pod.actions.terminate_pods``. Its selection
  silently kills fewer pods than asked (or none) when fewer match, kills pods
  that are already terminating, and with no selector picks the whole
  namespace; so the victims are chosen here (running, not terminating, fail
  when fewer than ``count``) and pinned with ``name_pattern`` + ``all=True``.
- Readiness is read from ``status.readyReplicas`` (absent means 0):
  ``deployment_partially_available`` raises when no replica is available,
  which would turn "not ready" into a failed probe.
"""

from __future__ import annotations

import random
import re
from typing import Any

from tradestorm_chaos.config import ChaosSettings
from tradestorm_chaos.drivers.base import ResidueItem
from tradestorm_chaos.drivers.kubernetes.api import (
    KubeApi,
    read_json,
    ready_of,
    reason,
    replicas_of,
)
from tradestorm_chaos.drivers.kubernetes.chaosmesh import ChaosMesh
from tradestorm_chaos.drivers.kubernetes.drain import NodeDrain
from tradestorm_chaos.drivers.kubernetes.outages import ScaleOutages
from tradestorm_chaos.errors import DriverError, NotAllowed, TargetUnavailable
from tradestorm_chaos.ledger import FaultRecord
from tradestorm_chaos.session import RunSession


def _min_max(hpa: dict[str, Any]) -> tuple[Any, Any]:
    spec = hpa.get("spec") or {}
    return spec.get("minReplicas"), spec.get("maxReplicas")


class KubernetesDriver:
    """One namespace of one kube context, broken and checked as a run asks."""

    target = "kubernetes"

    def __init__(self, settings: ChaosSettings, session: RunSession) -> None:
        self.settings = settings
        self.session = session
        self.api = KubeApi(settings, session)
        self._baseline: dict[str, Any] | None = None
        self.chaos = ChaosMesh(self.api)
        self.outages = ScaleOutages(self.api, self.baseline)
        self.drain = NodeDrain(self.api, self.baseline)

    # ------------------------------------------------------------------ safety

    def preflight(self) -> None:
        if self.session.dry_run:
            try:
                self.api.check_allowed()
            except NotAllowed as exc:
                self.session.say(f"[dry-run] note: a real run would be refused: {exc}")
        else:
            self.api.check_allowed()
        try:
            read_json(self.api.core().read_namespace, self.api.namespace)
        except Exception as exc:
            if self.session.dry_run:
                self.session.say(f"[dry-run] note: cannot read namespace "
                                 f"{self.api.namespace}: {exc}")
                return
            raise TargetUnavailable(
                f"namespace {self.api.namespace!r} in context {self.api.context!r}: {reason(exc)}"
            ) from exc
        self.baseline()

    # ------------------------------------------------------------------ baseline

    def baseline(self) -> dict[str, Any]:
        """The namespace before any fault: replicas, HPAs, cordoned nodes, chaos objects."""
        if self._baseline is None:
            self._baseline = self._snapshot()
        return self._baseline

    def _snapshot(self) -> dict[str, Any]:
        api = self.api
        return {
            "deployments": {d["metadata"]["name"]: replicas_of(d) for d in api.deployments()},
            "statefulsets": {s["metadata"]["name"]: replicas_of(s) for s in api.statefulsets()},
            "hpas": {h["metadata"]["name"]: _min_max(h) for h in api.hpas()},
            "cordoned": set(self.drain.cordoned()),
            "chaos": set(self.chaos.objects()),
        }

    # ------------------------------------------------------------------ faults

    def kill_replicas(self, service: str, count: int) -> dict[str, Any]:
        from chaosk8s.pod.actions import terminate_pods

        self.session.check_not_aborted()
        pods = self.api.running_pods(service)
        if len(pods) < count:
            raise DriverError(f"asked to kill {count} pod(s) of {service}, only {len(pods)} "
                              f"running in {self.api.namespace} ({self.api.selector(service)})")
        victims = sorted(p["metadata"]["name"] for p in random.sample(pods, count))
        pattern = "^(" + "|".join(re.escape(v) for v in victims) + ")$"
        describe = (f"terminate pod(s) {', '.join(victims)} of {service} "
                    f"(chaosk8s terminate_pods, grace period 0)")
        if self.session.dry_run:
            self.api.mutate(describe, lambda: None)
            return {"dry_run": True, "killed": victims}
        record = self.session.ledger.open("kill_replicas", service, {"count": count})
        try:
            killed = self.api.mutate(describe, lambda: self.api.chaosk8s(
                terminate_pods, label_selector=self.api.selector(service), name_pattern=pattern,
                all=True, grace_period=0, ns=self.api.namespace))
        finally:
            self.session.ledger.close(record, at=record.start)
        record.undo["killed"] = killed
        if sorted(killed or []) != victims:
            raise DriverError(f"asked to kill {victims}, chaosk8s terminated {killed}")
        return {"killed": victims}

    def add_latency(self, service: str, ms: int, jitter_ms: int,
                    duration_s: float) -> dict[str, Any]:
        return self.chaos.add_latency(service, ms, jitter_ms, duration_s)

    def cpu_stress(self, service: str, duration_s: float, workers: int = 2,
                   load: int = 90) -> dict[str, Any]:
        return self.chaos.cpu_stress(service, duration_s, workers, load)

    def partition(self, service: str, duration_s: float) -> dict[str, Any]:
        return self.chaos.partition(service, duration_s)

    def service_outage(self, service: str, duration_s: float) -> dict[str, Any]:
        return self.outages.service_outage(service, duration_s)

    def database_outage(self, duration_s: float) -> dict[str, Any]:
        return self.outages.database_outage(duration_s)

    def drain_node(self, service: str, duration_s: float) -> dict[str, Any]:
        return self.drain.drain_node(service, duration_s)

    # ------------------------------------------------------------------ rollbacks

    def remove_faults(self, service: str | None) -> list[str]:
        """Remove every fault this tool left on ``service`` (or on the whole namespace)."""
        removed = self.chaos.remove(service)
        for record in self.session.ledger.open_records():
            if service is None or record.target == service:
                if record.action == "service_outage":
                    self.outages.restore_deployment(record.target, record.undo.get("replicas", 1))
                    removed.append(f"deployment/{record.target} scaled back")
                if record.action in ("add_latency", "cpu_stress", "partition", "service_outage"):
                    self.session.ledger.close(record)
        return removed

    def restore_database(self) -> bool:
        return self.outages.restore_database()

    def undo(self, record: FaultRecord) -> None:
        undo = record.undo
        if record.action in ("add_latency", "cpu_stress", "partition") and "name" in undo:
            self.chaos.delete(undo["plural"], undo["name"])
        elif record.action == "service_outage" and "replicas" in undo:
            self.outages.restore_deployment(record.target, undo["replicas"])
        elif record.action == "database_outage" and "replicas" in undo:
            self.outages.restore_statefulset(undo["statefulset"], undo["replicas"])
        elif record.action == "drain_node" and "node" in undo:
            self.drain.uncordon(undo["node"])
        self.session.ledger.close(record)

    # ------------------------------------------------------------------ probes

    def services(self) -> list[str]:
        # a Deployment at zero replicas before any fault serves nothing: the load generator's
        # pod templates (k8s/components/locust), which each run instantiates as Jobs
        return sorted(name for name, replicas in self.baseline()["deployments"].items()
                      if replicas > 0)

    def prometheus_url(self) -> str | None:
        return self.settings.prometheus_url

    def service_ready(self, service: str) -> bool:
        from kubernetes.client.exceptions import ApiException

        try:
            endpoints = read_json(self.api.core().read_namespaced_endpoints, service,
                                  self.api.namespace)
        except ApiException as exc:
            if exc.status != 404:
                raise DriverError(f"endpoints {service}: {reason(exc)}") from exc
            return self.replicas(service)[0] > 0
        return any(subset.get("addresses") for subset in endpoints.get("subsets") or [])

    def replicas(self, service: str) -> tuple[int, int]:
        deployment = self.api.deployment(service)
        return ready_of(deployment), replicas_of(deployment)

    def database_up(self) -> bool:
        statefulset = self.api.statefulset(self.settings.database)
        return ready_of(statefulset) >= max(1, replicas_of(statefulset))

    def hpa(self, service: str) -> dict[str, Any] | None:
        return self.api.hpa_for(service)

    # ------------------------------------------------------------------ audit

    def residue(self) -> list[ResidueItem]:
        base = self.baseline()
        items = self.chaos.residue(base["chaos"])
        hpa_min = {((h.get("spec") or {}).get("scaleTargetRef") or {}).get("name"):
                   (h.get("spec") or {}).get("minReplicas") or 1 for h in self.api.hpas()}
        for kind, workloads, before_of in (
                ("deployment", self.api.deployments(), base["deployments"]),
                ("statefulset", self.api.statefulsets(), base["statefulsets"])):
            for w in workloads:
                name = w["metadata"]["name"]
                before = before_of.get(name)
                now = replicas_of(w)
                floor = hpa_min.get(name) if kind == "deployment" else None
                if before is not None and now < before and (floor is None or now < floor):
                    items.append(ResidueItem("scaled_down", f"{kind}/{name}",
                                             f"{now} replicas, {before} before the run"))
                elif now and ready_of(w) < now:
                    items.append(ResidueItem("replicas_not_ready", name,
                                             f"{ready_of(w)}/{now} replicas ready"))
        for h in self.api.hpas():
            before = base["hpas"].get(h["metadata"]["name"])
            now_minmax = _min_max(h)
            if before is not None and now_minmax != before:
                items.append(ResidueItem("hpa_modified", f"hpa/{h['metadata']['name']}",
                                         f"min/max {now_minmax}, {before} before the run"))
        items += self.drain.residue(base["cordoned"])
        return items

