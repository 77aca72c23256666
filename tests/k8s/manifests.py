"""Helpers over rendered Kubernetes objects: pod templates, containers, selectors.

Used by the static tests of ``k8s/``; nothing here talks to a cluster.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

WORKLOAD_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob"}
LONG_RUNNING_KINDS = {"Deployment", "StatefulSet", "DaemonSet"}

Obj = dict[str, Any]


def ref(obj: Obj) -> str:
    meta = obj["metadata"]
    ns = meta.get("namespace")
    return f"{obj['kind']}/{ns + '/' if ns else ''}{meta['name']}"


def pod_template(obj: Obj) -> Obj | None:
    """The pod template of a workload (CronJob: of its job template), else None."""
    if obj["kind"] == "CronJob":
        return obj["spec"]["jobTemplate"]["spec"]["template"]
    if obj["kind"] in WORKLOAD_KINDS:
        return obj["spec"]["template"]
    return None


def all_containers(pod_spec: Obj) -> list[Obj]:
    return [*pod_spec.get("initContainers", []), *pod_spec.get("containers", [])]


def container_ports(pod_spec: Obj) -> dict[str | int, int]:
    """Every port of the pod's containers, by name and by number -> number."""
    ports: dict[str | int, int] = {}
    for c in pod_spec.get("containers", []):
        for p in c.get("ports", []):
            ports[p["containerPort"]] = p["containerPort"]
            if "name" in p:
                ports[p["name"]] = p["containerPort"]
    return ports


def selector_matches(selector: Obj | None, labels: dict[str, str]) -> bool:
    """A LabelSelector (matchLabels + matchExpressions) against labels; {} matches all."""
    if selector is None:
        return False
    for k, v in (selector.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr["key"], expr["operator"], expr.get("values") or []
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and key in labels and labels[key] in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


@dataclass
class Pod:
    """A pod as its template describes it (enough for selectors and ports)."""

    owner: str
    namespace: str
    labels: dict[str, str]
    ports: dict[str | int, int] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.labels.get("app.kubernetes.io/name", self.owner)


def pods(objects: list[Obj]) -> list[Pod]:
    out = []
    for obj in objects:
        tpl = pod_template(obj)
        if tpl is None:
            continue
        out.append(Pod(owner=ref(obj), namespace=obj["metadata"].get("namespace", "default"),
                       labels=tpl["metadata"].get("labels", {}),
                       ports=container_ports(tpl["spec"])))
    return out


def workloads(objects: list[Obj], kinds: set[str] = WORKLOAD_KINDS) -> Iterator[tuple[Obj, Obj]]:
    """(object, pod spec) of every workload of the given kinds."""
    for obj in objects:
        if obj["kind"] in kinds:
            tpl = pod_template(obj)
            assert tpl is not None
            yield obj, tpl["spec"]


def by_kind(objects: list[Obj], kind: str) -> list[Obj]:
    return [o for o in objects if o["kind"] == kind]


def find(objects: list[Obj], kind: str, name: str) -> Obj | None:
    for o in objects:
        if o["kind"] == kind and o["metadata"]["name"] == name:
            return o
    return None
