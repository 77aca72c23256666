"""Helpers shared by the chaos tests (plain functions; fixtures live in conftest.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

NS = "tradestorm"
ALLOWED = "tradestorm-local"  # the real cluster's context, the one the tests allow
FORBIDDEN = "prod-eu"  # the same cluster under a name nobody allowed
FAKE_CONTEXT = "kind-chaos"  # the FAKE API server's context (conftest.fake_cluster)
CHAOS_MESH = "/apis/chaos-mesh.org/v1alpha1/namespaces/tradestorm"
CHAOS_PLURALS = ("networkchaos", "stresschaos", "podchaos")


def chaos_mesh_objects(kube: Any) -> list[dict[str, Any]]:
    """Every Chaos Mesh object of the namespace: of the real cluster (a ClusterHandle) or of
    the FAKE API server (a FakeKubeApiServer)."""
    if hasattr(kube, "items"):
        return kube.items(",".join(f"{p}.chaos-mesh.org" for p in CHAOS_PLURALS), "-n", NS)
    found: list[dict[str, Any]] = []
    for kind in ("NetworkChaos", "StressChaos", "PodChaos"):
        found += kube.objects("chaos-mesh.org/v1alpha1", kind, NS)
    return found


def replicas_in_order(objects: list[dict[str, Any]]) -> list[int]:
    """``spec.replicas`` of a watched workload, each change once (status updates repeat it)."""
    seen: list[int] = []
    for obj in objects:
        replicas = obj["spec"]["replicas"]
        if not seen or seen[-1] != replicas:
            seen.append(replicas)
    return seen


def write_experiment(folder: Path, *, method: list[dict[str, Any]],
                     rollbacks: list[dict[str, Any]] | None = None,
                     probes: list[dict[str, Any]] | None = None,
                     targets: list[str] | None = None, name: str = "custom",
                     configuration: dict[str, Any] | None = None) -> Path:
    """Write a small experiment file (steady state: orders has its replicas)."""
    doc: dict[str, Any] = {
        "version": "1.0.0",
        "title": f"test experiment {name}",
        "description": "Hypothesis: the platform stays steady while this test fault runs and "
                       "afterwards.",
        "steady-state-hypothesis": {"title": "orders is ready", "probes": probes or [{
            "type": "probe", "name": "orders-replicas", "tolerance": True,
            "provider": {"type": "python", "module": "tradestorm_chaos.probes",
                         "func": "replicas_ready",
                         "arguments": {"service": "orders", "timeout": 30}}}]},
        "method": method,
        "rollbacks": rollbacks or [],
    }
    if targets:
        doc["extensions"] = [{"name": "tradestorm", "targets": targets}]
    if configuration:
        doc["configuration"] = configuration
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path
