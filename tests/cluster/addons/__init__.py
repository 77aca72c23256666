"""The test cluster's add-ons: CoreDNS, metrics-server, kube-state-metrics, the Prometheus
Operator and one Prometheus, as a real cluster runs them (test infrastructure only).

Each program is built from the Go module proxy (``gomod/<addon>``, versions pinned in its
go.mod, see :mod:`tests.cluster.addons.builds`) and wrapped in an image from scratch
(``tradestorm.local/<name>:<version>``). The manifests are plain YAML in ``manifests/`` with
``@@NAME@@`` placeholders; :func:`render_addons` fills them. The operator's CRDs are read from
the Go module cache (the same release as the operator), never copied into the repository.

Apply order (:func:`render_addons` returns it): the CRDs (server-side: they are too large for
client-side apply's annotation), wait until they are Established, then the operator (and the
``monitoring`` namespace), CoreDNS, metrics-server, kube-state-metrics (its ServiceMonitor
needs the CRDs) and the Prometheus. :func:`apply_addons` and :func:`wait_addons` do exactly
that with :mod:`tests.cluster.kubectl`.

Every pod uses ``imagePullPolicy: Never``: the images must be imported into containerd first
(:func:`ensure_addon_images`, Prometheus's included), and nothing ever resolves or contacts
``tradestorm.local``.
"""

from __future__ import annotations

import ipaddress
import json
import re
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tests.cluster.addons.builds import (
    ADDON_BUILDS,
    COREDNS_BUILD,
    COREDNS_VERSION,
    KUBE_STATE_METRICS_BUILD,
    KUBE_STATE_METRICS_VERSION,
    METRICS_SERVER_BUILD,
    METRICS_SERVER_VERSION,
    PROMETHEUS_BUILD,
    PROMETHEUS_OPERATOR_BUILD,
    PROMETHEUS_OPERATOR_MODULE,
    PROMETHEUS_OPERATOR_VERSION,
    PROMETHEUS_VERSION,
)
from tests.cluster.errors import ClusterError
from tests.cluster.gobuild import GoBuild

if TYPE_CHECKING:
    from tests.cluster.images.archive import ImageArchive

__all__ = [
    "ADDON_IMAGES",
    "COREDNS_IMAGE",
    "KUBE_STATE_METRICS_IMAGE",
    "METRICS_SERVER_IMAGE",
    "PROMETHEUS_CONFIG_RELOADER_IMAGE",
    "PROMETHEUS_IMAGE",
    "PROMETHEUS_NAME",
    "PROMETHEUS_OPERATOR_IMAGE",
    "PROMETHEUS_SERVICE",
    "PROMETHEUS_VERSION",
    "AddonImage",
    "addon_builds",
    "addon_conditions",
    "addon_workloads",
    "apply_addons",
    "crd_names",
    "crd_paths",
    "ensure_addon_images",
    "render_addons",
    "wait_addons",
]

MANIFESTS_DIR = Path(__file__).resolve().parent / "manifests"
#: applied in this order, after the CRDs
MANIFESTS = (
    "prometheus-operator.yaml",
    "coredns.yaml",
    "metrics-server.yaml",
    "kube-state-metrics.yaml",
    "prometheus.yaml",
)

REGISTRY = "tradestorm.local"
COREDNS_IMAGE = f"{REGISTRY}/coredns:{COREDNS_VERSION}"
METRICS_SERVER_IMAGE = f"{REGISTRY}/metrics-server:{METRICS_SERVER_VERSION}"
KUBE_STATE_METRICS_IMAGE = f"{REGISTRY}/kube-state-metrics:{KUBE_STATE_METRICS_VERSION}"
PROMETHEUS_OPERATOR_IMAGE = f"{REGISTRY}/prometheus-operator:{PROMETHEUS_OPERATOR_VERSION}"
PROMETHEUS_CONFIG_RELOADER_IMAGE = (
    f"{REGISTRY}/prometheus-config-reloader:{PROMETHEUS_OPERATOR_VERSION}"
)
#: Prometheus 2.42.0 built from the Go module proxy (gomod/prometheus). Not Debian's package
#: (tests/cluster/images' tradestorm.local/prometheus:v2.42.0): Debian builds it without the
#: kubernetes service discovery, and every scrape config the operator writes uses it. Same
#: release, so the operator's compatibility (v2.37.0 ... v2.55.0 in v0.78.2) holds; the tag
#: suffix keeps the two images apart in containerd.
PROMETHEUS_IMAGE = f"{REGISTRY}/prometheus:{PROMETHEUS_VERSION}-gomod"
#: the Prometheus custom resource and the Service the docs port-forward
#: (kube-prometheus-stack's names)
PROMETHEUS_NAMESPACE = "monitoring"
PROMETHEUS_NAME = "kube-prometheus-stack-prometheus"
PROMETHEUS_SERVICE = "kube-prometheus-stack-prometheus"
PROMETHEUS_PORT = 9090

#: example/prometheus-operator-crd of the operator's module: the CRDs of bundle.yaml
#: (AlertmanagerConfig v1alpha1 only; the -full variant adds v1beta1, which needs a
#: conversion webhook)
_CRD_DIR = "example/prometheus-operator-crd"
_CRD_KINDS = (
    "Alertmanager",
    "AlertmanagerConfig",
    "PodMonitor",
    "Probe",
    "Prometheus",
    "PrometheusAgent",
    "PrometheusRule",
    "ScrapeConfig",
    "ServiceMonitor",
    "ThanosRuler",
)
_PLACEHOLDER = re.compile(r"@@([A-Z_]+)@@")


@dataclass(frozen=True)
class AddonImage:
    """One image from scratch: binaries of ``build`` at image paths, started as ``entrypoint``."""

    ref: str
    build: GoBuild
    files: dict[str, str]  #: image path -> binary name in the build
    entrypoint: tuple[str, ...]


#: Binaries sit where the upstream images keep them: the operator runs the config reloader
#: as /bin/prometheus-config-reloader (a fixed command in the pods it makes).
ADDON_IMAGES: tuple[AddonImage, ...] = (
    AddonImage(COREDNS_IMAGE, COREDNS_BUILD, {"/coredns": "coredns"}, ("/coredns",)),
    AddonImage(
        METRICS_SERVER_IMAGE,
        METRICS_SERVER_BUILD,
        {"/metrics-server": "metrics-server"},
        ("/metrics-server",),
    ),
    AddonImage(
        KUBE_STATE_METRICS_IMAGE,
        KUBE_STATE_METRICS_BUILD,
        {"/kube-state-metrics": "kube-state-metrics"},
        ("/kube-state-metrics",),
    ),
    AddonImage(
        PROMETHEUS_OPERATOR_IMAGE,
        PROMETHEUS_OPERATOR_BUILD,
        {"/bin/operator": "prometheus-operator"},
        ("/bin/operator",),
    ),
    AddonImage(
        PROMETHEUS_CONFIG_RELOADER_IMAGE,
        PROMETHEUS_OPERATOR_BUILD,
        {"/bin/prometheus-config-reloader": "prometheus-config-reloader"},
        ("/bin/prometheus-config-reloader",),
    ),
    AddonImage(
        PROMETHEUS_IMAGE,
        PROMETHEUS_BUILD,
        {"/bin/prometheus": "prometheus", "/bin/promtool": "promtool"},
        ("/bin/prometheus",),
    ),
)


def addon_builds() -> list[GoBuild]:
    """The add-ons' Go builds (one per module of ours)."""
    return list(ADDON_BUILDS)


def ensure_addon_images(log: Callable[[str], None] | None = None) -> list[ImageArchive]:
    """The add-ons' image archives (Prometheus's included), building the binaries and the
    images that the cache lacks."""
    from tests.cluster.images.scratch import binary_image

    built: dict[str, dict[str, Path]] = {}
    archives: list[ImageArchive] = []
    for image in ADDON_IMAGES:
        if image.build.module not in built:
            built[image.build.module] = image.build.build(log=log)
        binaries = built[image.build.module]
        archive = binary_image(
            image.ref,
            {path: binaries[name] for path, name in image.files.items()},
            list(image.entrypoint),
        )
        if log:
            log(f"image {archive.ref} -> {archive.path.name}")
        archives.append(archive)
    return archives


def crd_paths(log: Callable[[str], None] | None = None) -> list[Path]:
    """The operator's CRD files in the Go module cache (the release gomod/prometheus-operator
    pins), downloaded through the module proxy if missing; checksums verified by ``go``."""
    go = shutil.which("go")
    if go is None:
        raise ClusterError(
            "addons", "go is not on PATH (it fetches the Prometheus Operator's CRDs)"
        )
    module = f"{PROMETHEUS_OPERATOR_MODULE}@{PROMETHEUS_OPERATOR_VERSION}"
    if log:
        log(f"locating the CRDs of {module} in the module cache")
    proc = subprocess.run(
        [go, "mod", "download", "-json", module],
        cwd=PROMETHEUS_OPERATOR_BUILD.module_dir,
        capture_output=True,
        text=True,
    )
    try:
        info = json.loads(proc.stdout)
    except json.JSONDecodeError:
        info = {}
    if proc.returncode != 0 or "Dir" not in info:
        raise ClusterError(
            "addons", f"go mod download {module} failed: {info.get('Error') or proc.stderr.strip()}"
        )
    crd_dir = Path(info["Dir"]) / _CRD_DIR
    paths = sorted(crd_dir.glob("monitoring.coreos.com_*.yaml"))
    kinds = {
        m.group(1) for p in paths if (m := re.search(r"^    kind: (\w+)$", p.read_text(), re.M))
    }
    if missing := sorted(set(_CRD_KINDS) - kinds):
        raise ClusterError("addons", f"{crd_dir} lacks the CRDs of {', '.join(missing)}")
    return paths


def crd_names(paths: list[Path] | None = None) -> list[str]:
    """The CRDs' object names (``<plural>.monitoring.coreos.com``), e.g. to wait for Established."""
    return [_crd_name(p) for p in (crd_paths() if paths is None else paths)]


def _crd_name(path: Path) -> str:
    """monitoring.coreos.com_prometheuses.yaml -> prometheuses.monitoring.coreos.com"""
    group, _, plural = path.name.removesuffix(".yaml").partition("_")
    return f"{plural}.{group}"


def render_addons(
    dns_cluster_ip: str,
    *,
    cluster_domain: str = "cluster.local",
    prometheus_image: str = PROMETHEUS_IMAGE,
    prometheus_version: str = PROMETHEUS_VERSION,
    log: Callable[[str], None] | None = None,
) -> list[Path | str]:
    """Everything to apply, in order: the CRD files (paths, apply them server-side and wait
    until Established), then one multi-document YAML string per add-on."""
    try:
        ipaddress.ip_address(dns_cluster_ip)
    except ValueError as exc:
        raise ClusterError(
            "addons", f"the DNS service address {dns_cluster_ip!r} is not an IP address"
        ) from exc
    if not re.fullmatch(
        r"[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*", cluster_domain
    ):
        raise ClusterError("addons", f"the cluster domain {cluster_domain!r} is not a DNS name")
    values = {
        "DNS_CLUSTER_IP": dns_cluster_ip,
        "CLUSTER_DOMAIN": cluster_domain,
        "COREDNS_IMAGE": COREDNS_IMAGE,
        "COREDNS_VERSION": COREDNS_VERSION,
        "METRICS_SERVER_IMAGE": METRICS_SERVER_IMAGE,
        "METRICS_SERVER_VERSION": METRICS_SERVER_VERSION,
        "KUBE_STATE_METRICS_IMAGE": KUBE_STATE_METRICS_IMAGE,
        "KUBE_STATE_METRICS_VERSION": KUBE_STATE_METRICS_VERSION,
        "PROMETHEUS_OPERATOR_IMAGE": PROMETHEUS_OPERATOR_IMAGE,
        "PROMETHEUS_OPERATOR_VERSION": PROMETHEUS_OPERATOR_VERSION,
        "PROMETHEUS_CONFIG_RELOADER_IMAGE": PROMETHEUS_CONFIG_RELOADER_IMAGE,
        "PROMETHEUS_IMAGE": prometheus_image,
        "PROMETHEUS_VERSION": prometheus_version,
    }
    documents: list[Path | str] = list(crd_paths(log))
    for name in MANIFESTS:
        text = (MANIFESTS_DIR / name).read_text()
        unknown = sorted({m.group(1) for m in _PLACEHOLDER.finditer(text)} - values.keys())
        if unknown:
            raise ClusterError(
                "addons", f"manifests/{name} has unknown placeholders: {', '.join(unknown)}"
            )
        documents.append(_PLACEHOLDER.sub(lambda m: values[m.group(1)], text))
    return documents


def addon_workloads() -> list[tuple[str, str, str]]:
    """(namespace, kind, name) of every workload the add-ons run, to wait for. The StatefulSet is
    made by the operator from the Prometheus resource: it appears a few seconds after apply."""
    return [
        ("kube-system", "Deployment", "coredns"),
        ("kube-system", "Deployment", "metrics-server"),
        ("kube-system", "Deployment", "kube-state-metrics"),
        ("monitoring", "Deployment", "prometheus-operator"),
        (PROMETHEUS_NAMESPACE, "StatefulSet", f"prometheus-{PROMETHEUS_NAME}"),
    ]


def addon_conditions() -> list[tuple[str, str, str, str]]:
    """(namespace or "", kind, name, condition) that must be True once the add-ons work: the
    aggregated metrics API answers (metrics-server reached the kubelet) and the operator
    reconciled the Prometheus and sees it available."""
    return [
        ("", "APIService", "v1beta1.metrics.k8s.io", "Available"),
        (PROMETHEUS_NAMESPACE, "Prometheus", PROMETHEUS_NAME, "Reconciled"),
        (PROMETHEUS_NAMESPACE, "Prometheus", PROMETHEUS_NAME, "Available"),
    ]


# -- applying and waiting (with the cluster's kubectl and admin kubeconfig) ---------------------


def apply_addons(
    dns_cluster_ip: str,
    *,
    cluster_domain: str = "cluster.local",
    log: Callable[[str], None] | None = None,
    crd_timeout_s: float = 60,
) -> None:
    """Apply every add-on with server-side apply, the CRDs first (waiting until Established)."""
    from tests.cluster import kubectl

    documents = render_addons(dns_cluster_ip, cluster_domain=cluster_domain, log=log)
    crds = [d for d in documents if isinstance(d, Path)]
    if log:
        log(f"applying {len(crds)} Prometheus Operator CRDs")
    for path in crds:
        kubectl.apply(path.read_text(), piece="addons (CRDs)")
    kubectl.run(
        "wait",
        "--for=condition=Established",
        f"--timeout={crd_timeout_s:.0f}s",
        *(f"crd/{name}" for name in crd_names(crds)),
        timeout=crd_timeout_s + 30,
        piece="addons (CRDs)",
    )
    for name, text in zip(MANIFESTS, (d for d in documents if isinstance(d, str)), strict=True):
        if log:
            log(f"applying {name}")
        kubectl.apply(text, piece=f"addons ({name})")


def wait_addons(
    *,
    timeout_s: float = 300,
    dns_cluster_ip: str | None = None,
    cluster_domain: str = "cluster.local",
    check_prometheus: bool = True,
    log: Callable[[str], None] | None = None,
) -> None:
    """Wait until every add-on workload is ready and every condition of
    :func:`addon_conditions` holds; then, end to end from this machine (through the Services'
    cluster IPs, i.e. kube-proxy's rules): with ``dns_cluster_ip``, that the cluster DNS
    answers kubernetes.default.svc and NXDOMAINs an outside name; with ``check_prometheus``,
    that Prometheus scrapes kube-state-metrics (``kube_deployment_spec_replicas`` of coredns)."""
    from tests.cluster import kubectl
    from tests.cluster.addons.probes import dns_problem, prometheus_query

    def get(namespace: str, kind: str, name: str) -> tuple[dict[str, Any] | None, str]:
        args = (("-n", namespace) if namespace else ()) + ("get", kind.lower(), name, "-o", "json")
        proc = kubectl.run(*args, check=False, piece="addons")
        if proc.returncode != 0:
            return None, f"{kind} {namespace}/{name}: {proc.stderr.strip()[-300:]}"
        return json.loads(proc.stdout), ""

    def workload_problem(namespace: str, kind: str, name: str) -> str | None:
        obj, why = get(namespace, kind, name)
        if obj is None:
            return why
        spec, status = obj.get("spec", {}), obj.get("status", {})
        want = spec.get("replicas", 1)
        if status.get("observedGeneration", 0) < obj["metadata"].get("generation", 0):
            return f"{kind} {namespace}/{name}: not yet observed"
        ready = status.get("availableReplicas" if kind == "Deployment" else "readyReplicas", 0)
        updated = status.get("updatedReplicas", 0)
        if ready < want or updated < want:
            return f"{kind} {namespace}/{name}: {ready}/{want} ready, {updated}/{want} updated"
        return None

    def condition_problem(namespace: str, kind: str, name: str, condition: str) -> str | None:
        obj, why = get(namespace, kind, name)
        if obj is None:
            return why
        for cond in obj.get("status", {}).get("conditions", []):
            if cond.get("type") == condition:
                if cond.get("status") == "True":
                    return None
                why = f"{cond.get('reason')}: {cond.get('message')}"
                return f"{kind} {name}: {condition}={cond.get('status')} ({why})"
        return f"{kind} {name}: no {condition} condition yet"

    def prometheus_problem() -> str | None:
        service, why = get(PROMETHEUS_NAMESPACE, "Service", PROMETHEUS_SERVICE)
        if service is None:
            return why
        url = f"http://{service['spec']['clusterIP']}:{PROMETHEUS_PORT}"
        query = 'kube_deployment_spec_replicas{namespace="kube-system", deployment="coredns"}'
        try:
            if not prometheus_query(url, query):
                return f"Prometheus {url}: no {query} yet (kube-state-metrics not scraped)"
        except (OSError, RuntimeError, ValueError) as exc:
            return f"Prometheus {url}: {exc}"
        return None

    def check() -> str | None:
        for workload in addon_workloads():
            if problem := workload_problem(*workload):
                return problem
        for cond in addon_conditions():
            if problem := condition_problem(*cond):
                return problem
        if dns_cluster_ip and (problem := dns_problem(dns_cluster_ip, cluster_domain)):
            return problem
        if check_prometheus and (problem := prometheus_problem()):
            return problem
        return None

    def hint() -> str:
        return "".join(
            kubectl.run("get", "pods", "-n", ns, "-o", "wide", check=False).stdout
            for ns in ("kube-system", PROMETHEUS_NAMESPACE)
        )

    if log:
        log(
            "waiting for the add-ons: "
            + ", ".join(f"{k} {ns}/{n}" for ns, k, n in addon_workloads())
        )
    kubectl.wait_until(
        "add-ons ready", check, timeout_s=timeout_s, piece="addons", interval_s=2, hint=hint
    )
