"""Fixtures of the chaos tests.

Kubernetes runs are made against the REAL cluster of tests/cluster, on the platform the
session's ``kube_platform`` deployed (``platform``: that platform, healthy and settled; a
kubeconfig naming the same API server as ``prod-eu``, a context nobody allowed).

``fake_cluster`` (the FAKE API server of tests/fakes, seeded like the platform) is kept only
for what the real cluster cannot produce; each test that uses it says why in its docstring.
``seed_platform`` is also what benchmarks/bench_chaos.py seeds its fake with.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from chaos_test_helpers import FAKE_CONTEXT, FORBIDDEN, NS
from fakes.kube_apiserver import FakeKubeApiServer

SERVICES = ("gateway", "orders", "risk", "portfolio", "marketdata", "analytics")
LABEL = "app.kubernetes.io/name"


# ---------------------------------------------------------------------- the real cluster


@pytest.fixture
def platform(kube_platform: Any) -> Any:
    """The platform on the real cluster, healthy and settled (a test before may have
    disturbed it: each such test waits for it again too)."""
    kube_platform.wait_healthy()
    return kube_platform


@pytest.fixture
def prod_kubeconfig(kube_cluster: Any, tmp_path: Path) -> Path:
    """The cluster's kubeconfig plus ``prod-eu`` (the same live API server), its current
    context: a run that is not refused would really touch the platform."""
    return kube_cluster.write_kubeconfig(tmp_path / "kubeconfig", aliases=(FORBIDDEN,),
                                         current=FORBIDDEN)


# ---------------------------------------------------------------------- the FAKE


@dataclass
class FakeCluster:
    kube: FakeKubeApiServer
    kubeconfig: Path

    def configuration(self, context: str = FAKE_CONTEXT, **extra: Any) -> dict[str, Any]:
        return {"kubernetes_kubeconfig": str(self.kubeconfig), "kubernetes_context": context,
                "kubernetes_namespace": NS, "tradestorm_residue_timeout_s": 2, **extra}


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
    """The FAKE's platform: six services of two ready pods, PostgreSQL, the analytics HPA."""
    kube.put({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
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


@pytest.fixture
def fake_cluster(tmp_path: Path) -> Iterator[FakeCluster]:
    """A FAKE API server seeded like the platform (see the module docstring: only for what
    the real cluster cannot produce)."""
    with FakeKubeApiServer(simulate_workloads=True) as kube:
        seed_platform(kube)
        kubeconfig = kube.write_kubeconfig(tmp_path / "kubeconfig", contexts=[FAKE_CONTEXT],
                                           namespace=NS)
        yield FakeCluster(kube, kubeconfig)


@pytest.fixture
def repo_experiments(repo_root: Path) -> Path:
    return repo_root / "experiments"
