"""The Kubernetes driver: chaostoolkit-kubernetes (chaosk8s) plus the kubernetes client.

Every call to the cluster goes through ``api.KubeApi`` (kube context, allow-lists,
dry-run, chaosk8s calls).

How each fault is made, and which chaostoolkit-kubernetes defects are handled:

- ``kill_replicas``: ``chaosk8s.pod.actions.terminate_pods``. Its selection
  silently kills fewer pods than asked (or none) when fewer match, kills pods
  that are already terminating, and with no selector picks the whole
  namespace; so the victims are chosen here (running, not terminating, fail
  when fewer than ``count``) and pinned with ``name_pattern`` + ``all=True``.
- ``add_latency`` / ``cpu_stress`` / ``partition``: Chaos Mesh objects
  (``chaosmesh``).
- ``service_outage`` / ``database_outage``: the Deployment / the database's
  StatefulSet scaled to zero and back (``outages``).
- ``drain_node``: ``chaosk8s.node.actions.cordon_node`` / ``uncordon_node``,
  but NOT ``drain_nodes``, which evicts pods of every namespace (kube-system
  included), crashes on pods without owner references and gives up on the
  first PodDisruptionBudget refusal. Here only pods of the allowed namespace
  are evicted, through the eviction API, retrying while a PDB says 429.
- Readiness is read from ``status.readyReplicas`` (absent means 0):
  ``deployment_partially_available`` raises when no replica is available,
  which would turn "not ready" into a failed probe.
"""

from __future__ import annotations

import logging
import random
import re
import time
from collections.abc import Callable
from typing import Any

from tradestorm_chaos.config import ChaosSettings
from tradestorm_chaos.drivers.base import ResidueItem, held_fault
from tradestorm_chaos.drivers.kubernetes.api import (
    KubeApi,
    read_json,
    ready_of,
    reason,
    replicas_of,
)
from tradestorm_chaos.drivers.kubernetes.chaosmesh import ChaosMesh
from tradestorm_chaos.drivers.kubernetes.outages import ScaleOutages
from tradestorm_chaos.errors import (
    DriverError,
    FaultNotRemoved,
    NotAllowed,
    TargetUnavailable,
)
from tradestorm_chaos.ledger import FaultRecord
from tradestorm_chaos.session import RunSession

logger = logging.getLogger("tradestorm_chaos")

EVICTION_TIMEOUT_S = 60.0


class KubernetesDriver:
    target = "kubernetes"
    _json = staticmethod(read_json)  # benchmarks/bench_chaos.py times the driver's raw reads

    def __init__(self, settings: ChaosSettings, session: RunSession) -> None:
        self.settings = settings
        self.session = session
        self.api = KubeApi(settings, session)
        self._baseline: dict[str, Any] | None = None
        self.chaos = ChaosMesh(self.api)
        self.outages = ScaleOutages(self.api, self.baseline)

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
        snap: dict[str, Any] = {"deployments": {}, "statefulsets": {}, "hpas": {},
                                "cordoned": set(), "chaos": set()}
        for d in self.api.deployments():
            snap["deployments"][d["metadata"]["name"]] = replicas_of(d)
        for s in self.api.statefulsets():
            snap["statefulsets"][s["metadata"]["name"]] = replicas_of(s)
        for h in self.api.hpas():
            spec = h.get("spec") or {}
            snap["hpas"][h["metadata"]["name"]] = (spec.get("minReplicas"),
                                                   spec.get("maxReplicas"))
        for n in self.api.nodes():
            if (n.get("spec") or {}).get("unschedulable"):
                snap["cordoned"].add(n["metadata"]["name"])
        snap["chaos"] = set(self.chaos.objects())
        return snap

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
        from chaosk8s.node.actions import cordon_node

        pods = [p for p in self.api.running_pods(service) if (p.get("spec") or {}).get("nodeName")]
        if not pods:
            raise DriverError(f"no running pod of {service} is scheduled on a node")
        cordoned_before = self.baseline()["cordoned"]
        candidates = sorted({p["spec"]["nodeName"] for p in pods} - set(cordoned_before))
        if not candidates:
            raise DriverError(f"every node running {service} is already cordoned")
        node = candidates[0]

        def inject() -> dict[str, Any]:
            self.api.mutate(f"cordon node/{node}",
                         lambda: self.api.chaosk8s(cordon_node, name=node))
            evicted = self._evict_namespace_pods(node)
            return {"node": node, "evicted": evicted}

        return self._held("drain_node", node, {"service": service, "duration": duration_s},
                          f"cordon node {node} and evict its pods of namespace "
                          f"{self.api.namespace}",
                          inject, lambda undo: self._uncordon(undo.get("node", node)),
                          duration_s)

    def _evict_namespace_pods(self, node: str) -> list[str]:
        from kubernetes.client.exceptions import ApiException

        core = self.api.core()
        pods = read_json(core.list_namespaced_pod, self.api.namespace,
                          field_selector=f"spec.nodeName={node}").get("items", [])
        evicted: list[str] = []
        for pod in pods:
            meta = pod["metadata"]
            if any(o.get("kind") == "DaemonSet" for o in meta.get("ownerReferences") or []):
                continue
            if "kubernetes.io/config.mirror" in (meta.get("annotations") or {}):
                continue
            name = meta["name"]
            body = {"apiVersion": "policy/v1", "kind": "Eviction",
                    "metadata": {"name": name, "namespace": self.api.namespace}}
            deadline = time.monotonic() + EVICTION_TIMEOUT_S
            while True:
                try:
                    self.api.mutate(f"evict pod/{name} from node {node}",
                                 lambda n=name, b=body: read_json(
                                     core.create_namespaced_pod_eviction, n, self.api.namespace, b))
                    evicted.append(name)
                    break
                except ApiException as exc:
                    if exc.status == 404:
                        break
                    if exc.status == 429 and time.monotonic() < deadline:
                        self.session.hold(1.0)  # a PodDisruptionBudget says "not now"
                        continue
                    raise DriverError(f"evicting {name}: {reason(exc)}") from exc
        return evicted

    def _uncordon(self, node: str) -> None:
        from chaosk8s.node.actions import uncordon_node

        if node in self.baseline()["cordoned"]:
            return  # it was cordoned before the run: leave it as it was
        self.api.mutate(f"uncordon node/{node}",
                        lambda: self.api.chaosk8s(uncordon_node, name=node))
        if not self.session.dry_run:
            spec = read_json(self.api.core().read_node, node).get("spec") or {}
            if spec.get("unschedulable"):
                raise FaultNotRemoved(f"node {node} is still cordoned")

    def _held(self, action: str, target: str, args: dict[str, Any], describe: str,
              inject: Callable[[], Any], remove: Callable[[dict[str, Any]], None],
              duration_s: float) -> dict[str, Any]:
        def _inject() -> dict[str, Any]:
            return inject() or {}

        return held_fault(self.session, action=action, target=target, args=args,
                          describe=describe, inject=_inject, remove=remove,
                          duration_s=duration_s)

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
            self._uncordon(undo["node"])
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
            spec = h.get("spec") or {}
            before = base["hpas"].get(h["metadata"]["name"])
            now_minmax = (spec.get("minReplicas"), spec.get("maxReplicas"))
            if before is not None and now_minmax != before:
                items.append(ResidueItem("hpa_modified", f"hpa/{h['metadata']['name']}",
                                         f"min/max {now_minmax}, {before} before the run"))
        for n in self.api.nodes():
            if (n.get("spec") or {}).get("unschedulable") \
                    and n["metadata"]["name"] not in base["cordoned"]:
                items.append(ResidueItem("node_cordoned", f"node/{n['metadata']['name']}",
                                         "cordoned during the run"))
        return items

