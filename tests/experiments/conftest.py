"""Fixtures of the chaos tests: a FAKE Kubernetes API server seeded like the platform."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fakes.kube_apiserver import FakeKubeApiServer

SERVICES = ("gateway", "orders", "risk", "portfolio", "marketdata", "analytics")
NS = "tradestorm"
LABEL = "app.kubernetes.io/name"
ALLOWED = "kind-chaos"
FORBIDDEN = "prod-eu"


@dataclass
class FakeCluster:
    kube: FakeKubeApiServer
    kubeconfig: Path

    def configuration(self, context: str = ALLOWED, **extra: Any) -> dict[str, Any]:
        return {"kubernetes_kubeconfig": str(self.kubeconfig), "kubernetes_context": context,
                "kubernetes_namespace": NS, "tradestorm_residue_timeout_s": 2, **extra}

    def env(self, context: str = ALLOWED) -> dict[str, str]:
        return {"KUBECONFIG": str(self.kubeconfig), "TRADESTORM_ALLOWED_CONTEXTS": "",
                "TRADESTORM_ALLOWED_NAMESPACES": ""}


def _pod(name: str, service: str, node: str, namespace: str = NS) -> dict[str, Any]:
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace, "labels": {LABEL: service},
                     "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                                          "name": f"{service}-rs", "uid": "u-" + service,
                                          "controller": True}]},
        "spec": {"nodeName": node, "containers": [{"name": service, "image": "tradeplat"}]},
        "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]},
    }


def seed_platform(kube: FakeKubeApiServer) -> None:
    kube.put({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
    for i, node in enumerate(("node-a", "node-b", "node-c")):
        kube.put({"apiVersion": "v1", "kind": "Node", "metadata": {"name": node,
                  "labels": {"kubernetes.io/hostname": node}}, "spec": {},
                  "status": {"conditions": [{"type": "Ready", "status": "True"}]}})
        del i
    for service in SERVICES:
        kube.put({"apiVersion": "apps/v1", "kind": "Deployment",
                  "metadata": {"name": service, "namespace": NS, "labels": {LABEL: service}},
                  "spec": {"replicas": 2, "selector": {"matchLabels": {LABEL: service}},
                           "template": {"metadata": {"labels": {LABEL: service}},
                                        "spec": {"containers": [{"name": service,
                                                                 "image": "tradeplat"}]}}}})
        for i, node in enumerate(("node-a", "node-b")):
            kube.put(_pod(f"{service}-{i}", service, node))
        kube.put({"apiVersion": "v1", "kind": "Endpoints",
                  "metadata": {"name": service, "namespace": NS},
                  "subsets": [{"addresses": [{"ip": "10.0.0.1"}, {"ip": "10.0.0.2"}],
                               "ports": [{"port": 8000}]}]})
    kube.put({"apiVersion": "apps/v1", "kind": "StatefulSet",
              "metadata": {"name": "postgres", "namespace": NS, "labels": {LABEL: "postgres"}},
              "spec": {"replicas": 1, "serviceName": "postgres",
                       "selector": {"matchLabels": {LABEL: "postgres"}},
                       "template": {"metadata": {"labels": {LABEL: "postgres"}},
                                    "spec": {"containers": [{"name": "pg",
                                                             "image": "postgres"}]}}}})
    kube.put({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
              "metadata": {"name": "analytics", "namespace": NS},
              "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment",
                                          "name": "analytics"},
                       "minReplicas": 2, "maxReplicas": 6},
              "status": {"currentReplicas": 2, "desiredReplicas": 2}})
    # someone else's pod on node-a, in kube-system: a drain must never touch it
    kube.put(_pod("coredns-0", "coredns", "node-a", namespace="kube-system"))


@pytest.fixture
def fake_cluster(tmp_path: Path) -> Iterator[FakeCluster]:
    with FakeKubeApiServer(simulate_workloads=True) as kube:
        seed_platform(kube)
        kubeconfig = kube.write_kubeconfig(tmp_path / "kubeconfig", contexts=[ALLOWED, FORBIDDEN],
                                           namespace=NS, current_context=FORBIDDEN)
        yield FakeCluster(kube, kubeconfig)


@pytest.fixture
def repo_experiments(repo_root: Path) -> Path:
    return repo_root / "experiments"
