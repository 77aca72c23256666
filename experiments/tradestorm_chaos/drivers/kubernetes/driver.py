"""The Kubernetes driver: chaostoolkit-kubernetes (chaosk8s) plus the kubernetes client.

Every call to the cluster goes through ``api.KubeApi`` (kube context, allow-lists,
dry-run, chaosk8s calls).

How each fault is made, and which chaostoolkit-kubernetes defects are handled:

- ``kill_replicas``: ``chaosk8s.pod.actions.terminate_pods``. Its selection
  silently kills fewer pods than asked (or none) when fewer match, kills pods
  that are already terminating, and with no selector picks the whole
  namespace; so the victims are chosen here (running, not terminating, fail
  when fewer than ``count``) and pinned with ``name_pattern`` + ``all=True``.
- ``add_latency`` / ``cpu_stress``: Chaos Mesh ``NetworkChaos`` /
  ``StressChaos``. chaosk8s's ``add_latency`` cannot set ``spec.duration`` (the
  fault would outlive a chaos process killed with SIGKILL), writes
  ``metadata.ns`` instead of ``metadata.namespace`` and defaults to ``mode:
  one`` (a single pod); ``chaosk8s.crd.actions.create_custom_object`` treats a
  409 as success (an older object of the same name would be taken as ours). So
  the object is built here, with a unique name, our labels and a duration, and
  created through ``create_custom_object`` whose answer is checked; removal is
  ``chaosk8s.chaosmesh.network.actions.delete_network_fault`` /
  ``chaosk8s.chaosmesh.stress.actions.delete_stressor``.
- ``partition``: a Chaos Mesh ``NetworkChaos`` with ``action: partition``
  (every packet of the service's pods dropped, with a duration). NOT a
  deny-all ``NetworkPolicy`` (chaosk8s ``create_network_policy`` /
  ``deny_all_ingress``): NetworkPolicies are additive, so next to the
  platform's own per-service allow policies a deny-all one changes nothing,
  and it cannot expire by itself. Leftover NetworkPolicies labelled as ours
  (from other tools or older runs) are still audited and cleaned
  (``remove_network_policy``).
- ``database_outage``: ``chaosk8s.statefulset.actions.scale_statefulset`` to 0,
  then back to the replicas it had.
- ``service_outage``: ``chaosk8s.deployment.actions.scale_deployment`` to 0 and
  back. ``scale_deployment`` is undone by an HPA when scaling to a non-zero
  value; at 0 the HPA is inactive (ScalingDisabled), and the restore scales to
  ``max(original, hpa.minReplicas)`` so the HPA does not fight it.
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
import math
import random
import re
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from tradestorm_chaos.config import ChaosSettings
from tradestorm_chaos.drivers.base import ResidueItem, held_fault, wait_until
from tradestorm_chaos.drivers.kubernetes.api import (
    KubeApi,
    read_json,
    ready_of,
    reason,
    replicas_of,
)
from tradestorm_chaos.errors import (
    DriverError,
    FaultNotRemoved,
    NotAllowed,
    TargetUnavailable,
)
from tradestorm_chaos.ledger import FaultRecord
from tradestorm_chaos.session import RunSession

logger = logging.getLogger("tradestorm_chaos")

MANAGED_BY = {"app.kubernetes.io/managed-by": "tradestorm-chaos"}
EXPIRES_ANNOTATION = "tradestorm.io/expires-at"
CHAOS_MESH = ("chaos-mesh.org", "v1alpha1")
CHAOS_MESH_PLURALS = ("networkchaos", "stresschaos", "podchaos", "iochaos", "httpchaos",
                      "timechaos")
EXPIRY_MARGIN_S = 5.0
RESTORE_TIMEOUT_S = 120.0
EVICTION_TIMEOUT_S = 60.0


def _rfc3339(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _go_duration(seconds: float) -> str:
    return f"{max(1, math.ceil(seconds))}s"


class KubernetesDriver:
    target = "kubernetes"
    _json = staticmethod(read_json)  # benchmarks/bench_chaos.py times the driver's raw reads

    def __init__(self, settings: ChaosSettings, session: RunSession) -> None:
        self.settings = settings
        self.session = session
        self.api = KubeApi(settings, session)
        self._baseline: dict[str, Any] | None = None
        self._run_tag = uuid.uuid4().hex[:6]
        self._has_chaos_mesh: bool | None = None

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

    # ------------------------------------------------------------------ helpers

    def _policies(self) -> list[dict[str, Any]]:
        return read_json(self.api.networking().list_namespaced_network_policy, self.api.namespace,
                          label_selector="app.kubernetes.io/managed-by=tradestorm-chaos"
                          ).get("items", [])

    def _name(self, kind: str, service: str) -> str:
        clean = re.sub(r"[^a-z0-9-]", "-", service.lower())
        return f"ts-{kind}-{clean}-{self._run_tag}-{uuid.uuid4().hex[:4]}"[:63].rstrip("-")

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
        snap["chaos"] = {(p, name) for p, name in self._chaos_objects()}
        return snap

    def _chaos_mesh_installed(self) -> bool:
        if self._has_chaos_mesh is None:
            from kubernetes.client.exceptions import ApiException

            try:
                read_json(self.api.custom().get_api_resources, *CHAOS_MESH)
                self._has_chaos_mesh = True
            except ApiException as exc:
                if exc.status != 404:
                    raise DriverError(f"API discovery of chaos-mesh.org: {reason(exc)}") from exc
                self._has_chaos_mesh = False
        return self._has_chaos_mesh

    def _chaos_items(self, plural: str, label_selector: str | None = None) -> list[dict[str, Any]]:
        if not self._chaos_mesh_installed():
            return []
        kwargs = {"label_selector": label_selector} if label_selector else {}
        try:
            return read_json(self.api.custom().list_namespaced_custom_object, *CHAOS_MESH,
                              self.api.namespace, plural, **kwargs).get("items", [])
        except Exception as exc:  # this kind is not served by the installed Chaos Mesh
            logger.debug("cannot list %s: %s", plural, exc)
            return []

    def _chaos_objects(self) -> list[tuple[str, str]]:
        return [(plural, i["metadata"]["name"])
                for plural in CHAOS_MESH_PLURALS for i in self._chaos_items(plural)]

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

    def _chaos_object(self, plural: str, kind: str, name: str, spec: dict[str, Any],
                      duration_s: float) -> dict[str, Any]:
        return {
            "apiVersion": "/".join(CHAOS_MESH), "kind": kind,
            "metadata": {"name": name, "namespace": self.api.namespace, "labels": dict(MANAGED_BY),
                         "annotations": {EXPIRES_ANNOTATION: _rfc3339(
                             time.time() + duration_s + EXPIRY_MARGIN_S)}},
            "spec": {**spec, "duration": _go_duration(duration_s + EXPIRY_MARGIN_S)},
        }

    def _create_chaos(self, plural: str, body: dict[str, Any]) -> dict[str, Any]:
        from chaosk8s.crd.actions import create_custom_object

        created = self.api.chaosk8s(create_custom_object, group=CHAOS_MESH[0],
                                 version=CHAOS_MESH[1], plural=plural, ns=self.api.namespace,
                                 resource=body)
        meta = (created or {}).get("metadata") or {}
        if created.get("kind") != body["kind"] or meta.get("name") != body["metadata"]["name"] \
                or meta.get("labels", {}).get("app.kubernetes.io/managed-by") != "tradestorm-chaos":
            raise DriverError(f"Chaos Mesh did not create {plural}/{body['metadata']['name']}: "
                              f"{str(created)[:300]}")
        return {"plural": plural, "name": meta["name"], "uid": meta.get("uid")}

    def _delete_chaos(self, plural: str, name: str) -> None:
        from chaosk8s.chaosmesh.network.actions import delete_network_fault
        from chaosk8s.chaosmesh.stress.actions import delete_stressor
        from kubernetes.client.exceptions import ApiException

        try:
            read_json(self.api.custom().get_namespaced_custom_object, *CHAOS_MESH,
                      self.api.namespace, plural, name)
        except ApiException as exc:
            if exc.status == 404:
                return  # already gone (expired or removed)
            raise DriverError(f"{plural}/{name}: {reason(exc)}") from exc
        remover = {"networkchaos": delete_network_fault, "stresschaos": delete_stressor}.get(plural)
        if remover is not None:
            self.api.mutate(f"delete {plural}/{name}",
                         lambda: self.api.chaosk8s(remover, name=name, ns=self.api.namespace))
        else:
            self.api.mutate(f"delete {plural}/{name}", lambda: self.api.custom()
                         .delete_namespaced_custom_object(*CHAOS_MESH, self.api.namespace, plural,
                                                          name))
        if not self.session.dry_run and (plural, name) in self._chaos_objects():
            raise FaultNotRemoved(f"{plural}/{name} still exists after its deletion")

    def add_latency(self, service: str, ms: int, jitter_ms: int,
                    duration_s: float) -> dict[str, Any]:
        name = self._name("latency", service)
        spec = {
            "action": "delay", "mode": "all", "direction": "to",
            "selector": {"namespaces": [self.api.namespace],
                         "labelSelectors": {self.settings.label_key: service}},
            "delay": {"latency": f"{ms}ms", "jitter": f"{jitter_ms}ms", "correlation": "0"},
        }
        body = self._chaos_object("networkchaos", "NetworkChaos", name, spec, duration_s)
        return self._held(
            "add_latency", service, {"ms": ms, "jitter_ms": jitter_ms, "duration": duration_s},
            f"create NetworkChaos {name} (delay {ms}ms ±{jitter_ms}ms on {service})",
            lambda: self.api.mutate(f"create networkchaos/{name}",
                                 lambda: self._create_chaos("networkchaos", body)),
            lambda undo: self._delete_chaos("networkchaos", undo.get("name", name)),
            duration_s)

    def cpu_stress(self, service: str, duration_s: float, workers: int = 2,
                   load: int = 90) -> dict[str, Any]:
        name = self._name("cpu", service)
        spec = {
            "mode": "all",
            "selector": {"namespaces": [self.api.namespace],
                         "labelSelectors": {self.settings.label_key: service}},
            "stressors": {"cpu": {"workers": workers, "load": load}},
        }
        body = self._chaos_object("stresschaos", "StressChaos", name, spec, duration_s)
        return self._held(
            "cpu_stress", service, {"workers": workers, "load": load, "duration": duration_s},
            f"create StressChaos {name} ({workers} CPU worker(s) at {load}% in {service})",
            lambda: self.api.mutate(f"create stresschaos/{name}",
                                 lambda: self._create_chaos("stresschaos", body)),
            lambda undo: self._delete_chaos("stresschaos", undo.get("name", name)),
            duration_s)

    def partition(self, service: str, duration_s: float) -> dict[str, Any]:
        # Not a deny-all NetworkPolicy: policies are additive, and the platform's own
        # per-service allow policies (k8s/base/services/*/networkpolicy.yaml) would still
        # let the traffic through. Chaos Mesh drops the packets in the pods themselves.
        name = self._name("partition", service)
        spec = {
            "action": "partition", "mode": "all", "direction": "to",
            "selector": {"namespaces": [self.api.namespace],
                         "labelSelectors": {self.settings.label_key: service}},
        }
        body = self._chaos_object("networkchaos", "NetworkChaos", name, spec, duration_s)
        return self._held(
            "partition", service, {"duration": duration_s},
            f"create NetworkChaos {name} (partition: every packet of {service} dropped)",
            lambda: self.api.mutate(f"create networkchaos/{name}",
                                 lambda: self._create_chaos("networkchaos", body)),
            lambda undo: self._delete_chaos("networkchaos", undo.get("name", name)),
            duration_s)

    def _delete_policy(self, name: str) -> None:
        from chaosk8s.networking.actions import remove_network_policy
        from kubernetes.client.exceptions import ApiException

        try:
            read_json(self.api.networking().read_namespaced_network_policy, name,
                      self.api.namespace)
        except ApiException as exc:
            if exc.status == 404:
                return
            raise DriverError(f"networkpolicy/{name}: {reason(exc)}") from exc
        self.api.mutate(f"delete networkpolicy/{name}",
                        lambda: self.api.chaosk8s(remove_network_policy, name=name,
                                                  ns=self.api.namespace))

    def service_outage(self, service: str, duration_s: float) -> dict[str, Any]:
        from chaosk8s.deployment.actions import scale_deployment

        original = replicas_of(self.api.deployment(service))
        if not original:
            raise DriverError(f"deployment {service} already has 0 replicas: nothing to take down")

        def inject() -> dict[str, Any]:
            self.api.mutate(f"scale deployment/{service} from {original} to 0",
                         lambda: self.api.chaosk8s(scale_deployment, name=service, replicas=0,
                                                ns=self.api.namespace))
            return {"deployment": service, "replicas": original}

        return self._held("service_outage", service, {"duration": duration_s},
                          f"scale deployment {service} to 0 (was {original})", inject,
                          lambda undo: self._restore_deployment(service,
                                                                undo.get("replicas", original)),
                          duration_s)

    def _restore_deployment(self, service: str, replicas: int) -> None:
        from chaosk8s.deployment.actions import scale_deployment

        hpa = self.api.hpa_for(service)
        target = max(replicas, hpa["min_replicas"]) if hpa else replicas
        current = replicas_of(self.api.deployment(service))
        if current >= target:
            return
        self.api.mutate(f"scale deployment/{service} back to {target}",
                     lambda: self.api.chaosk8s(scale_deployment, name=service, replicas=target,
                                            ns=self.api.namespace))
        if not self.session.dry_run and replicas_of(self.api.deployment(service)) < target:
            raise FaultNotRemoved(f"deployment {service} was not scaled back to {target}")

    def database_outage(self, duration_s: float) -> dict[str, Any]:
        from chaosk8s.statefulset.actions import scale_statefulset

        name = self.settings.database
        original = replicas_of(self.api.statefulset(name))
        if not original:
            raise DriverError(f"statefulset {name} already has 0 replicas")

        def inject() -> dict[str, Any]:
            self.api.mutate(f"scale statefulset/{name} from {original} to 0",
                         lambda: self.api.chaosk8s(scale_statefulset, name=name, replicas=0,
                                                ns=self.api.namespace))
            return {"statefulset": name, "replicas": original}

        return self._held("database_outage", "database", {"duration": duration_s},
                          f"scale statefulset {name} to 0 (was {original})", inject,
                          lambda undo: self._restore_statefulset(name,
                                                                 undo.get("replicas", original)),
                          duration_s)

    def _restore_statefulset(self, name: str, replicas: int) -> None:
        from chaosk8s.statefulset.actions import scale_statefulset

        current = replicas_of(self.api.statefulset(name))
        if current < replicas:
            self.api.mutate(f"scale statefulset/{name} back to {replicas}",
                         lambda: self.api.chaosk8s(scale_statefulset, name=name, replicas=replicas,
                                                ns=self.api.namespace))
        if self.session.dry_run:
            return
        if not wait_until(lambda: ready_of(self.api.statefulset(name)) >= replicas,
                          RESTORE_TIMEOUT_S):
            raise FaultNotRemoved(f"statefulset {name} did not get {replicas} ready replica(s) "
                                  f"back within {RESTORE_TIMEOUT_S:g}s")

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
        removed: list[str] = []
        for plural in CHAOS_MESH_PLURALS:
            for item in self._chaos_items(plural, "app.kubernetes.io/managed-by=tradestorm-chaos"):
                selected = (((item.get("spec") or {}).get("selector") or {})
                            .get("labelSelectors") or {})
                if service is None or selected.get(self.settings.label_key) == service:
                    self._delete_chaos(plural, item["metadata"]["name"])
                    removed.append(f"{plural}/{item['metadata']['name']}")
        for policy in self._policies():
            labels = (((policy.get("spec") or {}).get("podSelector") or {})
                      .get("matchLabels") or {})
            if service is None or labels.get(self.settings.label_key) == service:
                self._delete_policy(policy["metadata"]["name"])
                removed.append(f"networkpolicy/{policy['metadata']['name']}")
        for record in self.session.ledger.open_records():
            if service is None or record.target == service:
                if record.action == "service_outage":
                    self._restore_deployment(record.target, record.undo.get("replicas", 1))
                    removed.append(f"deployment/{record.target} scaled back")
                if record.action in ("add_latency", "cpu_stress", "partition", "service_outage"):
                    self.session.ledger.close(record)
        return removed

    def restore_database(self) -> bool:
        name = self.settings.database
        replicas = self.baseline()["statefulsets"].get(name) or 1
        for record in self.session.ledger.open_records():
            if record.action == "database_outage":
                replicas = max(replicas, record.undo.get("replicas", replicas))
        was_down = replicas_of(self.api.statefulset(name)) < replicas
        self._restore_statefulset(name, replicas)
        for record in self.session.ledger.open_records():
            if record.action == "database_outage":
                self.session.ledger.close(record)
        return was_down

    def undo(self, record: FaultRecord) -> None:
        undo = record.undo
        if record.action in ("add_latency", "cpu_stress", "partition") and "name" in undo:
            self._delete_chaos(undo["plural"], undo["name"])
        elif record.action == "service_outage" and "replicas" in undo:
            self._restore_deployment(record.target, undo["replicas"])
        elif record.action == "database_outage" and "replicas" in undo:
            self._restore_statefulset(undo["statefulset"], undo["replicas"])
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
        items: list[ResidueItem] = []
        for plural, name in self._chaos_objects():
            if (plural, name) not in base["chaos"]:
                items.append(ResidueItem("chaos_mesh_object", f"{plural}/{name}",
                                         "Chaos Mesh object left in the namespace"))
        for policy in self._policies():
            items.append(ResidueItem("network_policy",
                                     f"networkpolicy/{policy['metadata']['name']}",
                                     "chaos NetworkPolicy left in the namespace"))
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

