"""What the tests hold of the real cluster: the cluster itself and the platform deployed on it
by the product (``KubernetesTarget`` with the ``local`` overlay)."""

from __future__ import annotations

import io
import json
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from tests.cluster import kubectl, storage
from tests.cluster.layout import ADMIN_KUBECONFIG, CONTEXT

NAMESPACE = "tradestorm"


class ClusterHandle:
    """The running test cluster (tests/cluster), as the tests see it."""

    context = CONTEXT
    kubeconfig: Path = ADMIN_KUBECONFIG

    def kubectl(self, *args: str, check: bool = True, input: str | None = None) -> str:
        return kubectl.run(*args, check=check, input=input, timeout=120).stdout

    def get(self, *args: str) -> dict[str, Any]:
        return kubectl.get_json(*args)

    def items(self, *args: str) -> list[dict[str, Any]]:
        return list(kubectl.get_json(*args).get("items", []))  # type: ignore[arg-type]

    def wait_until(
        self, what: str, check: Any, timeout_s: float = 120, interval_s: float = 1
    ) -> None:
        kubectl.wait_until(what, check, timeout_s=timeout_s, piece="test", interval_s=interval_s)

    def prometheus_url(self) -> str:
        """The in-cluster Prometheus, reached from this machine through its Service address."""
        from tests.cluster.addons import PROMETHEUS_NAMESPACE, PROMETHEUS_PORT, PROMETHEUS_SERVICE

        service = kubectl.get_json("service", PROMETHEUS_SERVICE, "-n", PROMETHEUS_NAMESPACE)
        return f"http://{service['spec']['clusterIP']}:{PROMETHEUS_PORT}"  # type: ignore[index]

    def prometheus_query(self, query: str) -> list[dict[str, Any]]:
        url = f"{self.prometheus_url()}/api/v1/query?" + urllib.parse.urlencode({"query": query})
        with urllib.request.urlopen(url, timeout=10) as answer:
            return list(json.load(answer)["data"]["result"])

    def prometheus_targets(self) -> list[dict[str, Any]]:
        with urllib.request.urlopen(
            f"{self.prometheus_url()}/api/v1/targets", timeout=10
        ) as answer:
            return list(json.load(answer)["data"]["activeTargets"])


class PlatformHandle:
    """The platform on the real cluster, deployed by ``KubernetesTarget.up`` (overlay local)."""

    def __init__(self, cluster: ClusterHandle) -> None:
        self.cluster = cluster
        self.output = io.StringIO()
        self.up_seconds: float | None = None

    def target(self, **kwargs: Any) -> Any:
        from tradestorm.kube.target import KubernetesTarget

        options: dict[str, Any] = {
            "overlay": "local",
            "kubeconfig": self.cluster.kubeconfig,
            "allowed_contexts": [CONTEXT],
            "out": self.output,
            "poll_interval_s": 1.0,
        }
        options.update(kwargs)
        return KubernetesTarget(context=options.pop("context", CONTEXT), **options)

    def up(self) -> None:
        started = time.monotonic()
        self.target().up(timeout_s=900)
        self.up_seconds = time.monotonic() - started

    def deployed(self) -> bool:
        return kubectl.run("get", "namespace", NAMESPACE, check=False).returncode == 0

    def down(self) -> None:
        if self.deployed():
            self.target().down(timeout_s=300)
        storage.recycle_released()

    def chaos_configuration(self, **extra: Any) -> dict[str, Any]:
        """The Chaos Toolkit configuration a run on this cluster gets."""
        return {
            "kubernetes_kubeconfig": str(self.cluster.kubeconfig),
            "kubernetes_context": CONTEXT,
            "kubernetes_namespace": NAMESPACE,
            **extra,
        }
