"""Chaos Mesh objects of the Kubernetes driver: latency, CPU stress and partition faults.

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
"""

from __future__ import annotations

import logging
import math
import re
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from tradestorm_chaos.drivers.base import ResidueItem, held_fault
from tradestorm_chaos.drivers.kubernetes.api import KubeApi, read_json, reason
from tradestorm_chaos.errors import DriverError, FaultNotRemoved

logger = logging.getLogger("tradestorm_chaos")

MANAGED_BY = {"app.kubernetes.io/managed-by": "tradestorm-chaos"}
MANAGED_SELECTOR = "app.kubernetes.io/managed-by=tradestorm-chaos"
EXPIRES_ANNOTATION = "tradestorm.io/expires-at"
CHAOS_MESH = ("chaos-mesh.org", "v1alpha1")
CHAOS_MESH_PLURALS = ("networkchaos", "stresschaos", "podchaos", "iochaos", "httpchaos",
                      "timechaos")
EXPIRY_MARGIN_S = 5.0


def _rfc3339(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _go_duration(seconds: float) -> str:
    return f"{max(1, math.ceil(seconds))}s"


class ChaosMesh:
    """The Chaos Mesh objects (and leftover chaos NetworkPolicies) of one namespace."""

    def __init__(self, api: KubeApi) -> None:
        self.api = api
        self._run_tag = uuid.uuid4().hex[:6]
        self._installed: bool | None = None

    # ------------------------------------------------------------------ reads

    def installed(self) -> bool:
        """Whether the cluster serves chaos-mesh.org (asked once)."""
        if self._installed is None:
            from kubernetes.client.exceptions import ApiException

            try:
                read_json(self.api.custom().get_api_resources, *CHAOS_MESH)
                self._installed = True
            except ApiException as exc:
                if exc.status != 404:
                    raise DriverError(f"API discovery of chaos-mesh.org: {reason(exc)}") from exc
                self._installed = False
        return self._installed

    def items(self, plural: str, label_selector: str | None = None) -> list[dict[str, Any]]:
        if not self.installed():
            return []
        kwargs = {"label_selector": label_selector} if label_selector else {}
        try:
            return read_json(self.api.custom().list_namespaced_custom_object, *CHAOS_MESH,
                             self.api.namespace, plural, **kwargs).get("items", [])
        except Exception as exc:  # this kind is not served by the installed Chaos Mesh
            logger.debug("cannot list %s: %s", plural, exc)
            return []

    def objects(self) -> list[tuple[str, str]]:
        """(plural, name) of every Chaos Mesh object in the namespace, ours or not."""
        return [(plural, i["metadata"]["name"])
                for plural in CHAOS_MESH_PLURALS for i in self.items(plural)]

    def policies(self) -> list[dict[str, Any]]:
        """The NetworkPolicies labelled as ours (none is made any more: leftovers)."""
        return read_json(self.api.networking().list_namespaced_network_policy,
                         self.api.namespace, label_selector=MANAGED_SELECTOR).get("items", [])

    # ------------------------------------------------------------------ faults

    def add_latency(self, service: str, ms: int, jitter_ms: int,
                    duration_s: float) -> dict[str, Any]:
        spec = {
            "action": "delay", "mode": "all", "direction": "to",
            "selector": self._selector(service),
            "delay": {"latency": f"{ms}ms", "jitter": f"{jitter_ms}ms", "correlation": "0"},
        }
        return self._hold("add_latency", service,
                          {"ms": ms, "jitter_ms": jitter_ms, "duration": duration_s},
                          "NetworkChaos", "latency", spec,
                          f"delay {ms}ms ±{jitter_ms}ms on {service}", duration_s)

    def cpu_stress(self, service: str, duration_s: float, workers: int,
                   load: int) -> dict[str, Any]:
        spec = {
            "mode": "all",
            "selector": self._selector(service),
            "stressors": {"cpu": {"workers": workers, "load": load}},
        }
        return self._hold("cpu_stress", service,
                          {"workers": workers, "load": load, "duration": duration_s},
                          "StressChaos", "cpu", spec,
                          f"{workers} CPU worker(s) at {load}% in {service}", duration_s)

    def partition(self, service: str, duration_s: float) -> dict[str, Any]:
        # Not a deny-all NetworkPolicy: policies are additive, and the platform's own
        # per-service allow policies (k8s/base/services/*/networkpolicy.yaml) would still
        # let the traffic through. Chaos Mesh drops the packets in the pods themselves.
        spec = {
            "action": "partition", "mode": "all", "direction": "to",
            "selector": self._selector(service),
        }
        return self._hold("partition", service, {"duration": duration_s},
                          "NetworkChaos", "partition", spec,
                          f"partition: every packet of {service} dropped", duration_s)

    def _selector(self, service: str) -> dict[str, Any]:
        return {"namespaces": [self.api.namespace],
                "labelSelectors": {self.api.settings.label_key: service}}

    def _name(self, kind: str, service: str) -> str:
        clean = re.sub(r"[^a-z0-9-]", "-", service.lower())
        return f"ts-{kind}-{clean}-{self._run_tag}-{uuid.uuid4().hex[:4]}"[:63].rstrip("-")

    def _hold(self, action: str, service: str, args: dict[str, Any], kind: str, short: str,
              spec: dict[str, Any], what: str, duration_s: float) -> dict[str, Any]:
        """Create a ``kind`` object with ``spec`` for ``duration_s`` seconds, then delete it
        (``held_fault``); it carries our label, and a duration of its own that ends it even
        if this process dies."""
        plural = kind.lower()
        name = self._name(short, service)
        body = {
            "apiVersion": "/".join(CHAOS_MESH), "kind": kind,
            "metadata": {"name": name, "namespace": self.api.namespace,
                         "labels": dict(MANAGED_BY),
                         "annotations": {EXPIRES_ANNOTATION: _rfc3339(
                             time.time() + duration_s + EXPIRY_MARGIN_S)}},
            "spec": {**spec, "duration": _go_duration(duration_s + EXPIRY_MARGIN_S)},
        }
        return held_fault(
            self.api.session, action=action, target=service, args=args,
            describe=f"create {kind} {name} ({what})",
            inject=lambda: self.api.mutate(f"create {plural}/{name}",
                                           lambda: self._create(plural, body)),
            remove=lambda undo: self.delete(plural, undo.get("name", name)),
            duration_s=duration_s)

    def _create(self, plural: str, body: dict[str, Any]) -> dict[str, Any]:
        from chaosk8s.crd.actions import create_custom_object

        created = self.api.chaosk8s(create_custom_object, group=CHAOS_MESH[0],
                                    version=CHAOS_MESH[1], plural=plural,
                                    ns=self.api.namespace, resource=body)
        meta = (created or {}).get("metadata") or {}
        if created.get("kind") != body["kind"] or meta.get("name") != body["metadata"]["name"] \
                or meta.get("labels", {}).get("app.kubernetes.io/managed-by") != "tradestorm-chaos":
            raise DriverError(f"Chaos Mesh did not create {plural}/{body['metadata']['name']}: "
                              f"{str(created)[:300]}")
        return {"plural": plural, "name": meta["name"], "uid": meta.get("uid")}

    # ------------------------------------------------------------------ removal

    def delete(self, plural: str, name: str) -> None:
        """Delete one Chaos Mesh object and check it is gone (already gone is fine)."""
        from chaosk8s.chaosmesh.network.actions import delete_network_fault
        from chaosk8s.chaosmesh.stress.actions import delete_stressor
        from kubernetes.client.exceptions import ApiException

        namespace = self.api.namespace
        try:
            read_json(self.api.custom().get_namespaced_custom_object, *CHAOS_MESH, namespace,
                      plural, name)
        except ApiException as exc:
            if exc.status == 404:
                return  # already gone (expired or removed)
            raise DriverError(f"{plural}/{name}: {reason(exc)}") from exc
        remover = {"networkchaos": delete_network_fault, "stresschaos": delete_stressor}.get(plural)
        if remover is not None:
            self.api.mutate(f"delete {plural}/{name}",
                            lambda: self.api.chaosk8s(remover, name=name, ns=namespace))
        else:
            self.api.mutate(f"delete {plural}/{name}", lambda: self.api.custom()
                            .delete_namespaced_custom_object(*CHAOS_MESH, namespace, plural,
                                                             name))
        if not self.api.session.dry_run and (plural, name) in self.objects():
            raise FaultNotRemoved(f"{plural}/{name} still exists after its deletion")

    def _delete_policy(self, name: str) -> None:
        from chaosk8s.networking.actions import remove_network_policy
        from kubernetes.client.exceptions import ApiException

        namespace = self.api.namespace
        try:
            read_json(self.api.networking().read_namespaced_network_policy, name, namespace)
        except ApiException as exc:
            if exc.status == 404:
                return
            raise DriverError(f"networkpolicy/{name}: {reason(exc)}") from exc
        self.api.mutate(f"delete networkpolicy/{name}",
                        lambda: self.api.chaosk8s(remove_network_policy, name=name,
                                                  ns=namespace))

    def remove(self, service: str | None) -> list[str]:
        """Delete every object of ours on ``service`` (all when None); what was deleted."""
        label_key = self.api.settings.label_key
        removed: list[str] = []
        for plural in CHAOS_MESH_PLURALS:
            for item in self.items(plural, MANAGED_SELECTOR):
                selected = (((item.get("spec") or {}).get("selector") or {})
                            .get("labelSelectors") or {})
                if service is None or selected.get(label_key) == service:
                    self.delete(plural, item["metadata"]["name"])
                    removed.append(f"{plural}/{item['metadata']['name']}")
        for policy in self.policies():
            labels = (((policy.get("spec") or {}).get("podSelector") or {})
                      .get("matchLabels") or {})
            if service is None or labels.get(label_key) == service:
                self._delete_policy(policy["metadata"]["name"])
                removed.append(f"networkpolicy/{policy['metadata']['name']}")
        return removed

    # ------------------------------------------------------------------ audit

    def residue(self, before: set[tuple[str, str]]) -> list[ResidueItem]:
        """Chaos Mesh objects not there ``before`` the run, and every chaos NetworkPolicy."""
        items = [ResidueItem("chaos_mesh_object", f"{plural}/{name}",
                             "Chaos Mesh object left in the namespace")
                 for plural, name in self.objects() if (plural, name) not in before]
        items += [ResidueItem("network_policy", f"networkpolicy/{policy['metadata']['name']}",
                              "chaos NetworkPolicy left in the namespace")
                  for policy in self.policies()]
        return items
