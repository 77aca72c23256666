"""Where the platform's parts are on a cluster, found by their labels, and what a run needs.

A run on Kubernetes is given a kube context and a namespace, nothing else: the
database is the ready pod labelled ``app.kubernetes.io/name=postgres`` in the
platform's namespace (its password in the Secret ``tradeplat-secrets``),
Prometheus is a ready pod labelled ``app.kubernetes.io/name=prometheus`` (the
Prometheus Operator's label; ``monitoring`` is searched first), the load
generator's image and pod templates are the component's ``locust-master`` and
``locust-worker`` Deployments, and the load accounts are the Secret
``locust-accounts`` that the seed Job filled.

:func:`preflight` refuses a cluster that lacks something the verdict depends
on, naming it, before any load or fault: the platform in the namespace,
metrics-server (the HPAs read it), the PodMonitor kind (the client metrics are
scraped through it), the seeded accounts.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

from tradestorm.kube.client import KubeConnection, Obj
from tradestorm.kube.errors import KubeError

PROMETHEUS_SELECTOR = "app.kubernetes.io/name=prometheus"
POSTGRES_SELECTOR = "app.kubernetes.io/name=postgres"
PLATFORM_SECRET = "tradeplat-secrets"
ACCOUNTS_SECRET = "locust-accounts"
LOAD_TEMPLATES = ("locust-master", "locust-worker")
METRICS_API = "v1beta1.metrics.k8s.io"
PREFERRED_MONITORING_NAMESPACES = ("monitoring", "prometheus", "observability")


class ClusterNotReady(KubeError):
    """The cluster lacks what a run needs (named); nothing was started."""


def _ready(pod: Obj) -> bool:
    meta = pod.get("metadata") or {}
    status = pod.get("status") or {}
    if meta.get("deletionTimestamp"):
        return False
    if status.get("phase") != "Running":
        return False
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in status.get("conditions") or [])


def ready_pod(conn: KubeConnection, namespace: str, selector: str) -> tuple[str, str] | None:
    """(name, uid) of a ready pod matching ``selector`` (the oldest: the most settled)."""
    pods = [p for p in conn.list("v1", "Pod", namespace, label_selector=selector) if _ready(p)]
    if not pods:
        return None
    pods.sort(key=lambda p: str(p["metadata"].get("creationTimestamp") or ""))
    return str(pods[0]["metadata"]["name"]), str(pods[0]["metadata"].get("uid") or "")


@dataclass(frozen=True)
class PodEndpoint:
    """A port of the pods matching a label selector in a namespace."""

    namespace: str
    selector: str
    port: int
    what: str


def find_prometheus(conn: KubeConnection, namespace: str | None = None) -> PodEndpoint:
    """The cluster's Prometheus (a ready pod of the Prometheus Operator)."""
    pods = conn.list("v1", "Pod", namespace, label_selector=PROMETHEUS_SELECTOR)
    found = sorted({p["metadata"]["namespace"] for p in pods if _ready(p)},
                   key=lambda ns: (ns not in PREFERRED_MONITORING_NAMESPACES, ns))
    if not found:
        where = f"namespace '{namespace}'" if namespace else "any namespace"
        raise ClusterNotReady(
            f"no ready Prometheus pod ({PROMETHEUS_SELECTOR}) in {where}: the gate reads the "
            "cluster's Prometheus (install kube-prometheus-stack, docs/kubernetes.md), or give "
            "--prometheus-url")
    return PodEndpoint(found[0], PROMETHEUS_SELECTOR, 9090, "Prometheus")


def postgres_endpoint(namespace: str) -> PodEndpoint:
    return PodEndpoint(namespace, POSTGRES_SELECTOR, 5432, "PostgreSQL")


def secret_value(conn: KubeConnection, namespace: str, name: str, key: str) -> str | None:
    secret = conn.get("v1", "Secret", name, namespace)
    data = (secret or {}).get("data") or {}
    if key not in data or data[key] is None:
        return None
    return base64.b64decode(data[key]).decode("utf-8")


def database_dsn(conn: KubeConnection, namespace: str, address: str) -> str:
    """The platform database's DSN through ``address`` (a port-forward)."""
    password = secret_value(conn, namespace, PLATFORM_SECRET, "POSTGRES_PASSWORD")
    if not password:
        raise ClusterNotReady(f"Secret {namespace}/{PLATFORM_SECRET} has no POSTGRES_PASSWORD: "
                              "is the platform deployed ('tradestorm up --target kubernetes')?")
    from urllib.parse import quote

    return f"postgresql://tradeplat:{quote(password, safe='')}@{address}/tradeplat"


def _metrics_api_available(conn: KubeConnection) -> str | None:
    """None when metrics-server serves the metrics API, else what is wrong."""
    service = conn.get("apiregistration.k8s.io/v1", "APIService", METRICS_API)
    if service is None:
        return f"APIService {METRICS_API} is missing (install metrics-server: the HPAs read it)"
    for cond in (service.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Available":
            if cond.get("status") == "True":
                return None
            return (f"APIService {METRICS_API} is not available ({cond.get('reason')}: "
                    f"{cond.get('message')}); metrics-server is not answering")
    return f"APIService {METRICS_API} reports no Available condition yet"


def _served(conn: KubeConnection, api_version: str, kind: str) -> bool:
    try:
        conn.resource(api_version, kind)
    except KubeError:
        return False
    return True


def preflight(conn: KubeConnection, namespace: str, *, for_run: bool = True) -> list[str]:
    """What the cluster lacks for a run in ``namespace`` (empty: nothing); without
    ``for_run`` only the platform and its database are required."""
    problems: list[str] = []
    if conn.get("v1", "Namespace", namespace) is None:
        return [f"namespace '{namespace}' does not exist: deploy the platform first "
                f"('tradestorm up --target kubernetes --namespace {namespace}')"]
    if conn.get("apps/v1", "Deployment", "gateway", namespace) is None:
        problems.append(f"namespace '{namespace}' has no platform (no Deployment 'gateway')")
    if conn.get("apps/v1", "StatefulSet", "postgres", namespace) is None:
        problems.append(f"namespace '{namespace}' has no database (no StatefulSet 'postgres')")
    if not for_run:
        return problems
    for name in LOAD_TEMPLATES:
        if conn.get("apps/v1", "Deployment", name, namespace) is None:
            problems.append(f"namespace '{namespace}' has no load generator template "
                            f"(Deployment '{name}' of k8s/components/locust)")
    if secret_value(conn, namespace, ACCOUNTS_SECRET, "accounts.json") is None:
        problems.append(f"Secret {namespace}/{ACCOUNTS_SECRET} holds no accounts.json: the seed "
                        "Job 'locust-seed-accounts' has not run (see its logs)")
    metrics = _metrics_api_available(conn)
    if metrics:
        problems.append(metrics)
    if not _served(conn, "monitoring.coreos.com/v1", "PodMonitor"):
        problems.append("the cluster does not serve PodMonitor (monitoring.coreos.com/v1): "
                        "install the Prometheus Operator (kube-prometheus-stack)")
    elif conn.get("monitoring.coreos.com/v1", "PodMonitor", "locust-worker", namespace) is None:
        problems.append(f"PodMonitor {namespace}/locust-worker is missing: the client metrics "
                        "would not be scraped")
    return problems
