"""What ``up`` checks before it changes anything: each failure names the piece and the check."""

from __future__ import annotations

import os
import shutil
import socket
from pathlib import Path

from tests.cluster.errors import ClusterError
from tests.cluster.hostnet import SYSCTLS, _sysctl_path, cgroup_hierarchies, link_exists
from tests.cluster.layout import BRIDGE, CNI_BIN_DIR, NODE_IP, PORTS
from tests.cluster.paths import CACHE_DIR, STATE_DIR

#: v1 controllers the kubelet and runc need for pods (cpu and memory limits, pids, devices)
CGROUP_CONTROLLERS = ("cpu", "cpuacct", "cpuset", "memory", "pids", "devices", "freezer")
#: programs from Debian's packages: program -> package
HOST_TOOLS = {
    "containerd": "containerd",
    "runc": "runc",
    "ctr": "containerd",
    "iptables": "iptables",
    "iptables-save": "iptables",
    "iptables-restore": "iptables",
    "ip": "iproute2",
    "conntrack": "conntrack",
    "openssl": "openssl",
    "mount": "mount",
}
CNI_PLUGINS = ("bridge", "host-local", "loopback")
MIN_FREE_BYTES = 4 * 1024**3


def check_host() -> None:
    """Everything on this machine the cluster needs, before anything is made."""
    if os.geteuid() != 0:
        raise ClusterError("host", "the test cluster needs root (it runs a kubelet and containerd)")
    for tool, package in HOST_TOOLS.items():
        if shutil.which(tool) is None:
            raise ClusterError(tool, f"{tool} is not installed (Debian package {package})")
    for plugin in CNI_PLUGINS:
        if not (CNI_BIN_DIR / plugin).is_file():
            raise ClusterError(
                "cni",
                f"CNI plugin {CNI_BIN_DIR / plugin} is missing "
                "(Debian package containernetworking-plugins)",
            )
    check_cgroups()
    if "overlay" not in Path("/proc/filesystems").read_text():
        raise ClusterError(
            "containerd", "the kernel has no overlay filesystem (containerd's snapshotter)"
        )
    for name in SYSCTLS:
        if not _sysctl_path(name).exists():
            raise ClusterError(
                "network", f"sysctl {name} is missing: the kernel lacks br_netfilter"
            )
    if link_exists(BRIDGE):
        raise ClusterError(
            "network",
            f"network link {BRIDGE} exists already (another cluster, or one "
            "not taken down: python -m tests.cluster down)",
        )
    check_ports()
    check_space()


def check_cgroups() -> None:
    mounted = {part for h in cgroup_hierarchies() for part in h.name.split(",")}
    enabled = {}
    for line in Path("/proc/cgroups").read_text().splitlines()[1:]:
        name, _hierarchy, _num, on = line.split()
        enabled[name] = on == "1"
    for controller in CGROUP_CONTROLLERS:
        if not enabled.get(controller):
            raise ClusterError(
                "kubelet",
                f"cgroup controller {controller} is not enabled in this kernel (/proc/cgroups)",
            )
        if controller not in mounted:
            raise ClusterError(
                "kubelet", f"cgroup controller {controller} is not mounted under /sys/fs/cgroup"
            )


def check_ports() -> None:
    for piece, port in PORTS.items():
        for host in ("127.0.0.1", "0.0.0.0"):
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                try:
                    sock.bind((host, port))
                except OSError as exc:
                    raise ClusterError(
                        piece,
                        f"port {port} is taken ({exc.strerror}); {piece} listens on "
                        f"{NODE_IP if port > 2380 else '127.0.0.1'}:{port}",
                    ) from exc


def check_space() -> None:
    for folder in (STATE_DIR, CACHE_DIR):
        probe = folder
        while not probe.exists():
            probe = probe.parent
        free = shutil.disk_usage(probe).free
        if free < MIN_FREE_BYTES:
            raise ClusterError(
                "disk",
                f"{free / 1024**3:.1f} GiB free under {probe}; the cluster needs "
                f"{MIN_FREE_BYTES / 1024**3:.0f} GiB (etcd, containerd's layers)",
            )
