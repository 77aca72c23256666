"""Node drain of the Kubernetes driver: cordon a node, evict the namespace's pods, uncordon.

``drain_node``: ``chaosk8s.node.actions.cordon_node`` / ``uncordon_node``, but
NOT ``drain_nodes``, which evicts pods of every namespace (kube-system
included), crashes on pods without owner references and gives up on the first
PodDisruptionBudget refusal. Here only pods of the allowed namespace are
evicted, through the eviction API, retrying while a PDB says 429. A node that
was cordoned before the run is never chosen, and never uncordoned.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from tradestorm_chaos.drivers.base import ResidueItem, held_fault
from tradestorm_chaos.drivers.kubernetes.api import KubeApi, read_json, reason
from tradestorm_chaos.errors import DriverError, FaultNotRemoved

EVICTION_TIMEOUT_S = 60.0


class NodeDrain:
    """A node running a service cordoned and emptied of the namespace's pods for a while."""

    def __init__(self, api: KubeApi, baseline: Callable[[], dict[str, Any]]) -> None:
        self.api = api
        self.baseline = baseline  # the namespace before any fault (its cordoned nodes)

    def cordoned(self) -> list[str]:
        """The nodes cordoned now (unschedulable), in the API's order."""
        return [n["metadata"]["name"] for n in self.api.nodes()
                if (n.get("spec") or {}).get("unschedulable")]

    def drain_node(self, service: str, duration_s: float) -> dict[str, Any]:
        from chaosk8s.node.actions import cordon_node

        pods = [p for p in self.api.running_pods(service)
                if (p.get("spec") or {}).get("nodeName")]
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

        return held_fault(self.api.session, action="drain_node", target=node,
                          args={"service": service, "duration": duration_s},
                          describe=f"cordon node {node} and evict its pods of namespace "
                                   f"{self.api.namespace}",
                          inject=inject, remove=lambda undo: self.uncordon(undo.get("node", node)),
                          duration_s=duration_s)

    def _evict_namespace_pods(self, node: str) -> list[str]:
        from kubernetes.client.exceptions import ApiException

        core = self.api.core()
        namespace = self.api.namespace
        pods = read_json(core.list_namespaced_pod, namespace,
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
                    "metadata": {"name": name, "namespace": namespace}}
            deadline = time.monotonic() + EVICTION_TIMEOUT_S
            while True:
                try:
                    self.api.mutate(f"evict pod/{name} from node {node}",
                                    lambda n=name, b=body: read_json(
                                        core.create_namespaced_pod_eviction, n, namespace, b))
                    evicted.append(name)
                    break
                except ApiException as exc:
                    if exc.status == 404:
                        break
                    if exc.status == 429 and time.monotonic() < deadline:
                        self.api.session.hold(1.0)  # a PodDisruptionBudget says "not now"
                        continue
                    raise DriverError(f"evicting {name}: {reason(exc)}") from exc
        return evicted

    def uncordon(self, node: str) -> None:
        """Uncordon ``node`` and check it is schedulable, unless it was cordoned before."""
        from chaosk8s.node.actions import uncordon_node

        if node in self.baseline()["cordoned"]:
            return  # it was cordoned before the run: leave it as it was
        self.api.mutate(f"uncordon node/{node}",
                        lambda: self.api.chaosk8s(uncordon_node, name=node))
        if not self.api.session.dry_run:
            spec = read_json(self.api.core().read_node, node).get("spec") or {}
            if spec.get("unschedulable"):
                raise FaultNotRemoved(f"node {node} is still cordoned")

    def residue(self, cordoned_before: set[str]) -> list[ResidueItem]:
        """The nodes cordoned during the run (not ``cordoned_before`` it)."""
        return [ResidueItem("node_cordoned", f"node/{name}", "cordoned during the run")
                for name in self.cordoned() if name not in cordoned_before]
