"""``up``, ``down`` and ``status`` of the test cluster.

``up`` checks the machine, builds what the cache lacks, then starts etcd, containerd, the
control plane, the kubelet and kube-proxy as processes of this machine, imports the images
into containerd and applies the add-ons (CoreDNS, metrics-server, kube-state-metrics, the
Prometheus Operator and a Prometheus). It returns once the node is Ready, DNS answers and
``kubectl top pods`` has numbers. When any step fails it takes down what it made.

``down`` undoes all of it from what is on the machine (pid files, the undo record, process
command lines, cgroups, mounts), so it works also after ``up`` was killed.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from tests.cluster import addons, hostnet, images, kubectl, pki, preflight, procs, storage
from tests.cluster.binaries import kubernetes_binaries
from tests.cluster.chaosmesh import crd_manifest
from tests.cluster.components import API_URL, ETCD_URL, components, write_configs, write_kubeconfig
from tests.cluster.errors import ClusterError
from tests.cluster.layout import (
    ADMIN_KUBECONFIG,
    BRIDGE,
    CONFIG_DIR,
    CONTAINER_LOG_LINKS,
    CONTAINERD_ROOT,
    CONTAINERD_SOCKET,
    CONTEXT,
    DNS_SERVICE_IP,
    NODE_NAME,
    POD_LOG_DIR,
)
from tests.cluster.paths import CACHE_DIR, RUN_DIR, STATE_DIR

Log = Callable[[str], None]
#: stop order: nothing restarts a container once the kubelet is gone
_STOP_ORDER = (
    "kubelet",
    "kube-proxy",
    "kube-scheduler",
    "kube-controller-manager",
    "kube-apiserver",
    "containerd",
    "etcd",
)


def _quiet(_: str) -> None:
    pass


@dataclass
class Timings:
    """Seconds per step of ``up`` (benchmarks/ prints them)."""

    steps: dict[str, float] = field(default_factory=dict)

    def mark(self, step: str, started: float) -> None:
        self.steps[step] = round(time.monotonic() - started, 1)


def build(log: Log = _quiet) -> dict[str, Path]:
    """Everything ``up`` needs that comes from a build, from the cache when it is there.

    The images (debootstrap, buildah: mostly downloads and disk) build beside the Go
    builds (compilers on every core), so a cold machine waits for the longer of the two."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        project_images = pool.submit(images.ensure_images, log)
        bins = kubernetes_binaries(log)
        addons.ensure_addon_images(log)
        project_images.result()
    return bins


def install_tools(log: Log = _quiet, *, bin_dir: Path = Path("/usr/local/bin")) -> None:
    """kubectl on PATH (the tests and the product call it): the one built with the cluster,
    installed only where the machine has none."""
    if shutil.which("kubectl") is None:
        built = kubernetes_binaries(log)["kubectl"]
        shutil.copy2(built, bin_dir / "kubectl")
        log(f"installed {bin_dir / 'kubectl'} (built with the cluster)")


def up(log: Log = _quiet, *, timeout_s: float = 600) -> Timings:
    """Bring the cluster up (a healthy cluster is left as it is)."""
    timings = Timings()
    if status().healthy:
        log(f"already up: context {CONTEXT}, kubeconfig {ADMIN_KUBECONFIG}")
        return timings
    if STATE_DIR.exists() or RUN_DIR.exists():
        log("a previous cluster was not taken down: taking it down first")
        down(log)
    preflight.check_host()
    started = time.monotonic()
    bins = build(log)
    timings.mark("build", started)
    kubectl.use(bins["kubectl"])
    try:
        _start(bins, log, timings, timeout_s)
    except BaseException:
        log("up failed: taking down what it made")
        down(log)
        raise
    return timings


def _start(bins: dict[str, Path], log: Log, timings: Timings, timeout_s: float) -> None:
    started = time.monotonic()
    hostnet.begin()
    pki.make_all()
    write_configs()
    write_kubeconfig(ADMIN_KUBECONFIG, "admin", pki.client("admin"))
    hostnet.make_links()
    hostnet.set_sysctls()
    hostnet.add_egress_guard()
    hostnet.make_cgroup_root()
    by_name = {c.name: c for c in components(bins)}

    procs.start("etcd", by_name["etcd"].argv)
    _wait_http("etcd", f"{ETCD_URL}/health", timeout_s=60)
    procs.start("containerd", by_name["containerd"].argv)
    kubectl.wait_until(
        "containerd's socket",
        lambda: None if CONTAINERD_SOCKET.exists() else "no socket yet",
        timeout_s=60,
        piece="containerd",
        hint=lambda: procs.log_tail("containerd"),
    )
    remove_containers()  # what a cluster that was killed left in the image cache's store
    timings.mark("etcd+containerd", started)

    step = time.monotonic()
    images.import_images(
        str(CONTAINERD_SOCKET), [*images.ensure_images(), *addons.ensure_addon_images()]
    )
    timings.mark("images imported", step)

    step = time.monotonic()
    procs.start("kube-apiserver", by_name["kube-apiserver"].argv)
    kubectl.wait_until(
        "the API server ready",
        _api_ready,
        timeout_s=120,
        piece="kube-apiserver",
        hint=lambda: _dead_or_tail("kube-apiserver"),
    )
    # the API server calls kubelets (logs, exec, metrics) as this user
    kubectl.run(
        "create",
        "clusterrolebinding",
        "tradestorm:apiserver-kubelet-client",
        "--clusterrole=system:kubelet-api-admin",
        "--user=kube-apiserver-kubelet-client",
        piece="kube-apiserver",
    )
    for name in ("kube-controller-manager", "kube-scheduler", "kubelet", "kube-proxy"):
        procs.start(name, by_name[name].argv)
    kubectl.wait_until(
        f"node {NODE_NAME} Ready",
        _node_ready,
        timeout_s=120,
        piece="kubelet",
        hint=lambda: _dead_or_tail("kubelet"),
    )
    timings.mark("control plane + node Ready", step)

    step = time.monotonic()
    storage.create_pool()
    kubectl.apply(crd_manifest().read_text(), piece="chaos-mesh CRDs")
    addons.apply_addons(DNS_SERVICE_IP, log=log)
    addons.wait_addons(timeout_s=timeout_s, dns_cluster_ip=DNS_SERVICE_IP, log=log)
    timings.mark("add-ons available", step)
    step = time.monotonic()
    kubectl.wait_until(
        "kubectl top pods answering",
        _top_answers,
        timeout_s=180,
        piece="metrics-server",
        interval_s=3,
    )
    timings.mark("metrics answering", step)
    timings.mark("total (no build)", started)
    log(f"up: context {CONTEXT} at {API_URL}; export KUBECONFIG={ADMIN_KUBECONFIG}")


def _wait_http(piece: str, url: str, *, timeout_s: float) -> None:
    import urllib.request

    def check() -> str | None:
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                return None if answer.status == 200 else f"HTTP {answer.status}"
        except OSError as exc:
            return str(exc)

    kubectl.wait_until(
        f"{piece} healthy",
        check,
        timeout_s=timeout_s,
        piece=piece,
        hint=lambda: _dead_or_tail(piece),
    )


def _dead_or_tail(name: str) -> str:
    state = "running" if procs.is_alive(name) else "NOT running"
    return f"{name} is {state}; last lines of its log:\n{procs.log_tail(name)}"


def _api_ready() -> str | None:
    proc = kubectl.run("get", "--raw", "/readyz", check=False, timeout=15)
    return (
        None
        if proc.returncode == 0 and proc.stdout.strip() == "ok"
        else (proc.stderr.strip() or proc.stdout)
    )


def _node_ready() -> str | None:
    node = kubectl.get_json("node", NODE_NAME, piece="kubelet")
    conditions = {c["type"]: c for c in node["status"].get("conditions", [])}  # type: ignore[index]
    ready = conditions.get("Ready", {})
    return (
        None
        if ready.get("status") == "True"
        else f"Ready={ready.get('status')}: {ready.get('message')}"
    )


def _top_answers() -> str | None:
    proc = kubectl.run("top", "pods", "-A", "--no-headers", check=False)
    return (
        None
        if proc.returncode == 0 and proc.stdout.strip()
        else (proc.stderr.strip() or "no pods measured")
    )


@dataclass(frozen=True)
class Status:
    processes: dict[str, bool]
    api_ready: bool
    node_ready: bool

    @property
    def anything(self) -> bool:
        return any(self.processes.values()) or STATE_DIR.exists()

    @property
    def healthy(self) -> bool:
        return (
            bool(self.processes)
            and all(self.processes.values())
            and self.api_ready
            and self.node_ready
        )


def status() -> Status:
    running = {r.name: r.alive for r in procs.recorded()}
    api = node = False
    if running.get("kube-apiserver") and ADMIN_KUBECONFIG.exists():
        api = _api_ready() is None
        if api:
            try:
                node = _node_ready() is None
            except ClusterError:
                node = False
    return Status(running, api, node)


def down(log: Log = _quiet) -> list[str]:
    """Remove every process, mount, network namespace, iptables rule, cgroup, link and file
    that ``up`` made. Returns what is left (empty: nothing)."""
    procs.stop_recorded(["kubelet", "kube-proxy"], grace_s=5)
    # containers: every process in the pods' cgroups, then containerd's shims
    procs.terminate(hostnet.cgroup_pids(), grace_s=5)
    remove_containers()
    procs.terminate(
        procs.matching([f"-address {CONTAINERD_SOCKET}", str(CONTAINERD_SOCKET)]), grace_s=5
    )
    procs.stop_recorded(list(_STOP_ORDER), grace_s=10)
    for folder in _CRI_RECORDS:
        shutil.rmtree(folder, ignore_errors=True)
    # whatever a killed up started without a pid file
    procs.terminate(_cluster_processes(), grace_s=5)
    hostnet.remove_netns()
    hostnet.unmount_all()
    stuck = hostnet.remove_cgroups()
    removed_rules = hostnet.remove_iptables_rules()
    hostnet.remove_links()
    hostnet.restore_sysctls()
    _remove_log_links()
    for folder in (STATE_DIR, RUN_DIR):
        shutil.rmtree(folder, ignore_errors=True)
    left = leftovers()
    if stuck:
        left += [f"cgroup {p}" for p in stuck]
    log(
        f"down: removed {len(removed_rules)} iptables rules/chains; "
        + ("nothing left" if not left else f"LEFT: {left}")
    )
    return left


#: the CRI plugin's own records of pod sandboxes and containers in containerd's root
_CRI_RECORDS = tuple(
    CONTAINERD_ROOT / "io.containerd.grpc.v1.cri" / name for name in ("sandboxes", "containers")
)


def remove_containers() -> None:
    """Every container and pod sandbox out of containerd's store, whose images stay (the image
    cache); a no-op when containerd does not run (down then removes the CRI's records)."""
    if not procs.is_alive("containerd") or not CONTAINERD_SOCKET.exists():
        return
    ctr = ["ctr", "--address", str(CONTAINERD_SOCKET), "--namespace", "k8s.io"]

    def ids(*what: str) -> list[str]:
        proc = subprocess.run([*ctr, *what, "ls", "-q"], capture_output=True, text=True, timeout=60)
        return proc.stdout.split()

    for task in ids("tasks"):
        subprocess.run([*ctr, "tasks", "rm", "-f", task], capture_output=True, timeout=60)
    containers = ids("containers")
    if containers:
        subprocess.run([*ctr, "containers", "rm", *containers], capture_output=True, timeout=300)


def _cluster_processes() -> list[int]:
    """The cluster's programs (built into the cache), containerd and its shims."""
    return procs.matching(
        [str(CONFIG_DIR / "containerd.toml"), str(CONTAINERD_SOCKET)],
        program_under=CACHE_DIR / "bin",
    )


def _remove_log_links() -> None:
    if not CONTAINER_LOG_LINKS.is_dir():
        return
    for link in CONTAINER_LOG_LINKS.iterdir():
        if link.is_symlink() and str(link.readlink()).startswith(str(POD_LOG_DIR)):
            link.unlink()


def leftovers() -> list[str]:
    """Anything of a cluster on this machine: processes, mounts, netns, rules, links, folders."""
    left = [f"process {pid}" for pid in _cluster_processes()]
    left += [f"process {pid} (in a pod cgroup)" for pid in hostnet.cgroup_pids()]
    left += [f"mount {m}" for m in hostnet.our_mounts()]
    left += [f"netns {n}" for n in hostnet.our_netns()] if STATE_DIR.exists() else []
    left += [f"iptables {r}" for r in hostnet.leftover_iptables()]
    left += [f"link {BRIDGE}"] if hostnet.link_exists(BRIDGE) else []
    left += [f"folder {f}" for f in (STATE_DIR, RUN_DIR) if f.exists()]
    left += [f"pod records {f}" for f in _CRI_RECORDS if f.is_dir() and any(f.iterdir())]
    left += [
        f"cgroup {h / hostnet.CGROUP_ROOT}"
        for h in hostnet.cgroup_hierarchies()
        if (h / hostnet.CGROUP_ROOT).exists()
    ]
    return left
