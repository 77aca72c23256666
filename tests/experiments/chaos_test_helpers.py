"""Helpers shared by the chaos tests (plain functions; fixtures live in conftest.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from fakes.kube_apiserver import FakeKubeApiServer

NS = "tradestorm"
ALLOWED = "kind-chaos"  # the kube context the tests allow
CHAOS_KINDS = ("NetworkChaos", "StressChaos", "PodChaos")


def chaos_mesh_objects(kube: FakeKubeApiServer) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for kind in CHAOS_KINDS:
        found += kube.objects("chaos-mesh.org/v1alpha1", kind, NS)
    return found


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
