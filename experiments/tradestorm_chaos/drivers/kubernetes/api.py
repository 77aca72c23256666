"""Kubernetes API access of the driver: one kube context and namespace, behind the allow-lists.

Every part of the Kubernetes driver reaches the cluster through one ``KubeApi``:

- the kube context (the configuration's, else the kubeconfig's current one) and the
  kubernetes client's APIs on it; answers are read as raw JSON (``read_json``);
- safety: nothing is touched unless the kube context AND the namespace are allowed
  (``allowlist``): every mutating call goes through ``mutate``, which checks the
  allow-lists first and, in dry-run mode, prints the operation instead of performing
  it. Reads (listing pods, reading HPAs) are allowed in dry-run so the plan can name
  the pods it would kill;
- chaostoolkit-kubernetes (chaosk8s) calls (``chaosk8s``). chaosk8s builds its client
  from ``$KUBECONFIG`` and ``secrets``; it would also switch TLS verification off
  unless ``KUBERNETES_VERIFY_SSL`` is given, so every chaosk8s call gets
  ``KUBERNETES_CONTEXT`` and ``KUBERNETES_VERIFY_SSL`` explicitly, under the
  kubeconfig of this driver;
- the reads that faults, probes and the audit share: a service's pods, the
  namespace's Deployments, StatefulSets and HPAs, the nodes.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from tradestorm_chaos.allowlist import check_context_allowed, check_namespace_allowed
from tradestorm_chaos.config import ChaosSettings
from tradestorm_chaos.errors import DriverError, TargetUnavailable
from tradestorm_chaos.session import RunSession

logger = logging.getLogger("tradestorm_chaos")

_chaosk8s_lock = threading.Lock()


def read_json(call: Callable[..., Any], *args: Any, **kwargs: Any) -> dict[str, Any]:
    """Call a kubernetes client method and return the raw JSON as a dict.

    The client's typed models cost ~45 ms of CPU per answer (pydantic); the
    driver only needs a few fields, so it reads the JSON itself.
    """
    response = call(*args, _preload_content=False, **kwargs)
    return json.loads(response.data or b"{}")


def reason(exc: Exception) -> str:
    """An API error in a few words (``404 Not Found``), any other error as it says."""
    status = getattr(exc, "status", None)
    why = getattr(exc, "reason", None)
    if status is not None:
        return f"{status} {why or ''}".strip()
    return str(exc)


def replicas_of(workload: dict[str, Any]) -> int:
    """The replicas a Deployment or StatefulSet asks for (``spec.replicas``)."""
    return int((workload.get("spec") or {}).get("replicas") or 0)


def ready_of(workload: dict[str, Any]) -> int:
    """Its ready replicas (``status.readyReplicas``; absent means 0)."""
    return int((workload.get("status") or {}).get("readyReplicas") or 0)


class KubeApi:
    """The cluster as a run may touch it: one context, one namespace, allow-lists, dry-run."""

    def __init__(self, settings: ChaosSettings, session: RunSession) -> None:
        self.settings = settings
        self.session = session
        self.namespace = settings.namespace
        self.kubeconfig = str(settings.kubeconfig)
        self._client: Any = None
        self._context: str | None = settings.kube_context
        self._allowed_checked = False

    # ------------------------------------------------------------------ clients

    @property
    def context(self) -> str:
        if self._context is None:
            from kubernetes import config

            try:
                _, active = config.list_kube_config_contexts(config_file=self.kubeconfig)
            except Exception as exc:  # kubeconfig missing or malformed
                raise TargetUnavailable(f"kubeconfig {self.kubeconfig}: {exc}") from exc
            if not active:
                raise TargetUnavailable(f"kubeconfig {self.kubeconfig} has no current context")
            self._context = active["name"]
        return self._context

    @property
    def client(self) -> Any:
        if self._client is None:
            from kubernetes import config

            try:
                self._client = config.new_client_from_config(
                    config_file=self.kubeconfig, context=self.context)
            except Exception as exc:
                raise TargetUnavailable(
                    f"cannot use kube context {self.context!r} from {self.kubeconfig}: {exc}"
                ) from exc
        return self._client

    def core(self) -> Any:
        from kubernetes import client

        return client.CoreV1Api(self.client)

    def apps(self) -> Any:
        from kubernetes import client

        return client.AppsV1Api(self.client)

    def custom(self) -> Any:
        from kubernetes import client

        return client.CustomObjectsApi(self.client)

    def networking(self) -> Any:
        from kubernetes import client

        return client.NetworkingV1Api(self.client)

    def autoscaling(self) -> Any:
        from kubernetes import client

        return client.AutoscalingV2Api(self.client)

    def _secrets(self) -> dict[str, Any]:
        return {"KUBERNETES_CONTEXT": self.context, "KUBERNETES_VERIFY_SSL": "true"}

    @contextmanager
    def _chaosk8s_env(self) -> Iterator[None]:
        """Point chaosk8s's client factory at this driver's kubeconfig for one call."""
        from kubernetes.config import kube_config

        with _chaosk8s_lock:
            saved_env = os.environ.get("KUBECONFIG")
            saved_default = kube_config.KUBE_CONFIG_DEFAULT_LOCATION
            os.environ["KUBECONFIG"] = self.kubeconfig
            kube_config.KUBE_CONFIG_DEFAULT_LOCATION = self.kubeconfig
            try:
                yield
            finally:
                kube_config.KUBE_CONFIG_DEFAULT_LOCATION = saved_default
                if saved_env is None:
                    os.environ.pop("KUBECONFIG", None)
                else:
                    os.environ["KUBECONFIG"] = saved_env

    def chaosk8s(self, fn: Callable[..., Any], **kwargs: Any) -> Any:
        """Call a chaosk8s action on this context (its errors become ``DriverError``)."""
        with self._chaosk8s_env():
            try:
                return fn(secrets=self._secrets(), **kwargs)
            except Exception as exc:
                raise DriverError(f"{fn.__module__}.{fn.__name__}: {exc}") from exc

    # ------------------------------------------------------------------ safety

    def check_allowed(self) -> None:
        """Refuse (``NotAllowed``) unless both the context and the namespace are allowed."""
        if self._allowed_checked:
            return
        check_context_allowed(self.context, self.session.allowed_contexts)
        check_namespace_allowed(self.namespace, self.session.allowed_namespaces)
        self._allowed_checked = True

    def mutate(self, describe: str, fn: Callable[[], Any]) -> Any:
        """The only way the driver changes anything: allow-list first, dry-run honoured."""
        if self.session.dry_run:
            self.session.plan(f"{describe} [context {self.context}, namespace {self.namespace}]")
            return None
        self.check_allowed()
        return fn()

    # ------------------------------------------------------------------ reads

    def selector(self, service: str) -> str:
        return f"{self.settings.label_key}={service}"

    def running_pods(self, service: str) -> list[dict[str, Any]]:
        """The service's pods that run or are about to, not terminating, by name."""
        pods = read_json(self.core().list_namespaced_pod, self.namespace,
                         label_selector=self.selector(service)).get("items", [])
        return sorted(
            (p for p in pods
             if not p["metadata"].get("deletionTimestamp")
             and (p.get("status") or {}).get("phase") in (None, "Running", "Pending")),
            key=lambda p: p["metadata"]["name"],
        )

    def deployment(self, service: str) -> dict[str, Any]:
        try:
            return read_json(self.apps().read_namespaced_deployment, service, self.namespace)
        except Exception as exc:
            raise DriverError(f"deployment {self.namespace}/{service}: {reason(exc)}") from exc

    def statefulset(self, name: str) -> dict[str, Any]:
        try:
            return read_json(self.apps().read_namespaced_stateful_set, name, self.namespace)
        except Exception as exc:
            raise DriverError(f"statefulset {self.namespace}/{name}: {reason(exc)}") from exc

    def deployments(self) -> list[dict[str, Any]]:
        return read_json(self.apps().list_namespaced_deployment,
                         self.namespace).get("items", [])

    def statefulsets(self) -> list[dict[str, Any]]:
        return read_json(self.apps().list_namespaced_stateful_set,
                         self.namespace).get("items", [])

    def hpas(self) -> list[dict[str, Any]]:
        try:
            return read_json(self.autoscaling().list_namespaced_horizontal_pod_autoscaler,
                             self.namespace).get("items", [])
        except Exception as exc:
            logger.debug("cannot list HPAs: %s", exc)
            return []

    def hpa_for(self, service: str) -> dict[str, Any] | None:
        """The HPA whose scaleTargetRef is the service's Deployment (autoscaling/v2), or None."""
        for hpa in self.hpas():
            spec = hpa.get("spec") or {}
            ref = spec.get("scaleTargetRef") or {}
            if ref.get("kind") == "Deployment" and ref.get("name") == service:
                status = hpa.get("status") or {}
                return {
                    "name": hpa["metadata"]["name"],
                    "min_replicas": spec.get("minReplicas") or 1,
                    "max_replicas": spec.get("maxReplicas"),
                    "current_replicas": status.get("currentReplicas") or 0,
                    "desired_replicas": status.get("desiredReplicas") or 0,
                }
        return None

    def nodes(self) -> list[dict[str, Any]]:
        try:
            return read_json(self.core().list_node).get("items", [])
        except Exception as exc:
            logger.debug("nodes not readable: %s", exc)
            return []
