"""``KubernetesTarget.connect``: a deployed platform as a run's ``Connection``.

From a kube context and a namespace, nothing typed by hand: the preflight
(:func:`tradestorm.kube.discovery.preflight`) refuses a cluster that lacks what
the verdict needs; Prometheus and the database are found by their labels and
reached through port-forwards the connection owns (re-opened when the pod
behind one dies); the database password comes from the platform's Secret; the
load runs in the cluster (:mod:`tradestorm.kube.loadgen`). ``--prometheus-url``
and ``--dsn`` stay as overrides for a Prometheus or a database reachable
otherwise.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from tradestorm.kube.client import KubeConnection
from tradestorm.kube.discovery import (
    ClusterNotReady,
    PodEndpoint,
    database_dsn,
    find_prometheus,
    postgres_endpoint,
    preflight,
    ready_pod,
)
from tradestorm.kube.loadgen import ClusterLoad
from tradestorm.kube.loadleases import remove_leftovers
from tradestorm.kube.portforward import PortForward
from tradestorm.targets import Connection, LoadHandle, LoadRequest, Say, Scope


class KubernetesTarget(Protocol):
    """What a connection needs of the target (``tradestorm.kube.target.KubernetesTarget``,
    which calls ``connect_kubernetes`` with itself)."""

    context: str | None
    namespace: str
    kubeconfig: Path | None
    allowed_contexts: tuple[str, ...]

    def check_allowed(self) -> None: ...

#: series that must be in Prometheus for the HPA objectives (kube-state-metrics)
KSM_QUERY = 'count(kube_horizontalpodautoscaler_spec_max_replicas{{namespace="{ns}"}})'


def _forward(conn: KubeConnection, target: KubernetesTarget,
             endpoint: PodEndpoint) -> PortForward:
    return PortForward(
        context=target.context, namespace=endpoint.namespace, remote_port=endpoint.port,
        find_pod=lambda: ready_pod(conn, endpoint.namespace, endpoint.selector),
        what=endpoint.what, kubeconfig=target.kubeconfig).open()


def _check_kube_state_metrics(prometheus_url: str, namespace: str) -> str | None:
    from promclient.errors import PrometheusError
    from promclient.source import PrometheusSource

    try:
        with PrometheusSource(prometheus_url, timeout_s=10.0, workers=1) as source:
            source.check()
            if not source.instant_query(KSM_QUERY.format(ns=namespace)):
                return (f"Prometheus at {prometheus_url} has no kube_horizontalpodautoscaler_* "
                        f"series for namespace '{namespace}': kube-state-metrics is missing or "
                        "not scraped (the HPA objectives read it)")
    except PrometheusError as exc:
        return f"Prometheus: {exc}"
    return None


def connect_kubernetes(target: KubernetesTarget, *, say: Say, prometheus_url: str | None = None,
                       dsn: str | None = None, for_run: bool = True) -> Connection:
    """``for_run=False`` (``gate``, ``reconcile``): only Prometheus and the database are
    needed, nothing of a previous run is touched."""
    target.check_allowed()
    conn = KubeConnection(target.context, target.kubeconfig)
    forwards: list[PortForward] = []
    try:
        problems = preflight(conn, target.namespace, for_run=for_run)
        if problems:
            raise ClusterNotReady(
                f"context '{target.context}', namespace '{target.namespace}' cannot take a "
                "run: " + "; ".join(problems))
        left = remove_leftovers(conn, target.namespace) if for_run else []
        if left:
            say(f"kubernetes: removed the load of a run that did not finish: {', '.join(left)}")
        if prometheus_url is None:
            forward = _forward(conn, target, find_prometheus(conn))
            forwards.append(forward)
            prometheus_url = f"http://{forward.address}"
            say(f"kubernetes: Prometheus ({forward.namespace}/{forward.pod}) on {prometheus_url}")
        problem = _check_kube_state_metrics(prometheus_url, target.namespace) if for_run else None
        if problem:
            raise ClusterNotReady(problem)
        if dsn is None:
            forward = _forward(conn, target, postgres_endpoint(target.namespace))
            forwards.append(forward)
            dsn = database_dsn(conn, target.namespace, forward.address)
            say(f"kubernetes: database ({forward.namespace}/{forward.pod}) on {forward.address}")
    except BaseException:
        for forward in forwards:
            forward.close()
        conn.close()
        raise

    def start_load(request: LoadRequest, results_dir: Path, say: Say) -> LoadHandle:
        load = ClusterLoad(
            conn, context=target.context, namespace=target.namespace,
            kubeconfig=target.kubeconfig, results_dir=results_dir, say=say, request=request)
        try:
            load.start()
        except BaseException:
            load.remove()
            raise
        return load

    def close(down: bool, say: Say) -> None:
        for forward in forwards:
            forward.close()
        conn.close()

    scope = Scope(contexts=tuple(target.allowed_contexts), namespaces=(target.namespace,))
    return Connection(
        target="kubernetes",
        prometheus_url=prometheus_url,
        dsn=dsn,
        gateway_url=f"http://gateway.{target.namespace}.svc (in the cluster)",
        scope=scope,
        chaos_configuration={"tradestorm_target": "kubernetes",
                             "tradestorm_prometheus_url": prometheus_url,
                             "kubernetes_context": target.context,
                             "kubernetes_namespace": target.namespace,
                             **({"kubernetes_kubeconfig": str(target.kubeconfig)}
                                if target.kubeconfig else {})},
        chaos_options={"target": "kubernetes", "allowed_contexts": scope.contexts,
                       "allowed_namespaces": scope.namespaces},
        start_load=start_load,
        # kube-prometheus-stack: 5-30 s scrapes (the client metrics: 2 s), rules every 15 s
        settle_s=20.0,
        _close=close,
    )
