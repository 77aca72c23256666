"""The safety lever on Kubernetes: the ConfigMap ``tradestorm-lever`` in the harness's
namespace (see ``tradestorm.lever`` for what it does)."""

from __future__ import annotations

import time
from typing import Any

from tradestorm.kube.client import KubeConnection
from tradestorm.lever import LeverState

LEVER_CONFIGMAP = "tradestorm-lever"


class ConfigMapLever:
    def __init__(self, connection: KubeConnection, namespace: str) -> None:
        self.conn = connection
        self.namespace = namespace
        self.where = f"ConfigMap {namespace}/{LEVER_CONFIGMAP} (context {connection.context})"

    def read(self) -> LeverState:
        obj = self.conn.get("v1", "ConfigMap", LEVER_CONFIGMAP, self.namespace)
        data = (obj or {}).get("data") or {}
        at = data.get("at")
        return LeverState(data.get("engaged") == "true", data.get("by", ""),
                          float(at) if at else None, data.get("reason", ""), self.where)

    def _write(self, state: LeverState) -> LeverState:
        self.conn.apply({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": LEVER_CONFIGMAP, "namespace": self.namespace,
                         "labels": {"app.kubernetes.io/managed-by": "tradestorm"}},
            "data": {"engaged": "true" if state.engaged else "false", "by": state.by,
                     "at": f"{state.at or 0:.3f}", "reason": state.reason},
        })
        return state

    def engage(self, by: str, reason: str) -> LeverState:
        return self._write(LeverState(True, by, time.time(), reason, self.where))

    def release(self, by: str) -> LeverState:
        return self._write(LeverState(False, by, time.time(), "released", self.where))


def kube_lever(options: Any) -> ConfigMapLever:
    """The lever of the Kubernetes target ``options`` (``KubeOptions``) points at: its
    context is checked against the allow-list before any connection, as the target's is."""
    from tradestorm.errors import InputError
    from tradestorm.kube.target import KubernetesTarget

    if not options.context:
        raise InputError("--context", "context", "required with --target kubernetes")
    KubernetesTarget(context=options.context, namespace=options.namespace,
                     allowed_contexts=options.allowed_contexts,
                     kubeconfig=options.kubeconfig).check_allowed()
    return ConfigMapLever(KubeConnection(options.context, options.kubeconfig), options.namespace)
