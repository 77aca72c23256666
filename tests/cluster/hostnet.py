"""What the cluster changes on this machine outside its own folders, and how down undoes it:
network links, sysctls, iptables rules, pod network namespaces, mounts and cgroups.

Every change is recorded in UNDO_FILE before it is made, so ``down`` undoes it also after an
``up`` that was killed half-way.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

from tests.cluster.errors import ClusterError
from tests.cluster.layout import (
    BRIDGE,
    CLUSTER_CIDR,
    CONTAINERD_ROOT,
    GUARD_CHAIN,
    NETNS_DIR,
    NODE_IP,
    POD_GATEWAY,
    UNDO_FILE,
)
from tests.cluster.paths import RUN_DIR, STATE_DIR

#: sysctls the node needs: bridged pod traffic through iptables (kube-proxy), forwarding
SYSCTLS = {
    "net.ipv4.ip_forward": "1",
    "net.bridge.bridge-nf-call-iptables": "1",
    "net.bridge.bridge-nf-call-ip6tables": "1",
}
#: the cgroup (under each v1 hierarchy) the kubelet puts every pod in
CGROUP_ROOT = "tradestorm"
CGROUP_FS = Path("/sys/fs/cgroup")
#: iptables chains made by this cluster's pieces (kube-proxy, kubelet, CNI plugins, ours)
_CHAIN_MARKERS = ("KUBE-", "CNI-", GUARD_CHAIN)


# ---- the undo record ---------------------------------------------------------------------------


def read_undo() -> dict[str, object]:
    try:
        return json.loads(UNDO_FILE.read_text())
    except (OSError, ValueError):
        return {}


def _write_undo(record: dict[str, object]) -> None:
    UNDO_FILE.parent.mkdir(parents=True, exist_ok=True)
    tmp = UNDO_FILE.with_suffix(".tmp")
    tmp.write_text(json.dumps(record, indent=1))
    tmp.rename(UNDO_FILE)


def begin() -> None:
    """The first thing ``up`` does: note when this cluster started (network namespaces made
    after it are this cluster's)."""
    _write_undo({"started": time.time(), "sysctls": {}})


# ---- sysctls -----------------------------------------------------------------------------------


def _sysctl_path(name: str) -> Path:
    return Path("/proc/sys") / name.replace(".", "/")


def set_sysctls() -> None:
    record = read_undo()
    saved: dict[str, str] = dict(record.get("sysctls", {}))  # type: ignore[arg-type]
    for name, value in SYSCTLS.items():
        path = _sysctl_path(name)
        if not path.exists():
            raise ClusterError(
                "network", f"sysctl {name} is missing ({path}): the kernel lacks br_netfilter"
            )
        current = path.read_text().strip()
        if current != value:
            saved.setdefault(name, current)
            record["sysctls"] = saved
            _write_undo(record)
            path.write_text(value)


def restore_sysctls() -> None:
    for name, value in dict(read_undo().get("sysctls", {})).items():  # type: ignore[arg-type]
        try:
            _sysctl_path(name).write_text(str(value))
        except OSError:
            pass


# ---- links -------------------------------------------------------------------------------------


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(["ip", *args], capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise ClusterError("network", f"ip {' '.join(args)}: {proc.stderr.strip()}")
    return proc


def link_exists(name: str) -> bool:
    return Path(f"/sys/class/net/{name}").exists()


def make_links() -> None:
    """The pods' bridge, with their gateway address and the node's own address (this kernel
    has no dummy links; the bridge is ours and goes with everything on it)."""
    _ip("link", "add", BRIDGE, "type", "bridge")
    _ip("addr", "add", f"{POD_GATEWAY}/24", "dev", BRIDGE)
    _ip("addr", "add", f"{NODE_IP}/32", "dev", BRIDGE)
    _ip("link", "set", BRIDGE, "up")


def remove_links() -> None:
    if link_exists(BRIDGE):
        _ip("link", "delete", BRIDGE, check=False)


# ---- iptables ----------------------------------------------------------------------------------


def _iptables(*args: str) -> None:
    proc = subprocess.run(["iptables", "-w", "5", *args], capture_output=True, text=True)
    if proc.returncode != 0:
        raise ClusterError("network", f"iptables {' '.join(args)}: {proc.stderr.strip()}")


def add_egress_guard() -> None:
    """Pods talk to pods and to this machine, never past it: forwarded traffic from the
    cluster's pod range to any other address is dropped (kube-proxy has already turned a
    Service address into a pod's or the node's by then)."""
    _iptables("-N", GUARD_CHAIN)
    _iptables("-A", GUARD_CHAIN, "-s", CLUSTER_CIDR, "-d", CLUSTER_CIDR, "-j", "RETURN")
    _iptables("-A", GUARD_CHAIN, "-s", CLUSTER_CIDR, "-j", "DROP")
    _iptables("-I", "FORWARD", "1", "-j", GUARD_CHAIN)


def remove_iptables_rules() -> list[str]:
    """Remove every chain and rule of kube-proxy, the kubelet, the CNI plugins and ours, in
    every table of iptables and ip6tables, leaving everyone else's rules as they are.
    Returns what it removed, one line a rule/chain."""
    removed: list[str] = []
    for save, restore in (
        ("iptables-save", "iptables-restore"),
        ("ip6tables-save", "ip6tables-restore"),
    ):
        proc = subprocess.run([save], capture_output=True, text=True)
        if proc.returncode != 0:
            continue
        kept, dropped = [], []
        for line in proc.stdout.splitlines():
            (dropped if any(m in line for m in _CHAIN_MARKERS) else kept).append(line)
        if not dropped:
            continue
        result = subprocess.run(
            [restore, "-w", "5"], input="\n".join(kept) + "\n", capture_output=True, text=True
        )
        if result.returncode != 0:
            raise ClusterError("down", f"{restore} failed: {result.stderr.strip()}")
        removed += dropped
    return removed


def leftover_iptables() -> list[str]:
    lines = []
    for save in ("iptables-save", "ip6tables-save"):
        proc = subprocess.run([save], capture_output=True, text=True)
        lines += [ln for ln in proc.stdout.splitlines() if any(m in ln for m in _CHAIN_MARKERS)]
    return lines


# ---- pod network namespaces --------------------------------------------------------------------


def our_netns() -> list[Path]:
    """containerd 1.6 names pod namespaces cni-<uuid> under /var/run/netns; ours are those
    made since this cluster started."""
    started = float(read_undo().get("started", time.time()))  # type: ignore[arg-type]
    if not NETNS_DIR.is_dir():
        return []
    found = []
    for entry in NETNS_DIR.glob("cni-*"):
        try:
            if entry.lstat().st_mtime >= started - 1:
                found.append(entry)
        except OSError:
            continue
    return found


def remove_netns() -> None:
    for entry in our_netns():
        subprocess.run(["umount", str(entry)], capture_output=True)
        subprocess.run(["umount", "-l", str(entry)], capture_output=True)
        entry.unlink(missing_ok=True)


# ---- mounts ------------------------------------------------------------------------------------


def our_mounts() -> list[str]:
    """Mount points under the state and run folders and containerd's root, deepest first."""
    roots = (str(STATE_DIR) + "/", str(RUN_DIR) + "/", str(CONTAINERD_ROOT) + "/")
    points = []
    with open("/proc/self/mountinfo") as info:
        for line in info:
            point = line.split()[4].replace("\\040", " ")
            if point.startswith(roots) or point in (str(STATE_DIR), str(RUN_DIR)):
                points.append(point)
    return sorted(set(points), key=lambda p: p.count("/"), reverse=True)


def unmount_all() -> None:
    for _ in range(3):
        points = our_mounts()
        if not points:
            return
        for point in points:
            if subprocess.run(["umount", point], capture_output=True).returncode != 0:
                subprocess.run(["umount", "-l", point], capture_output=True)
    left = our_mounts()
    if left:
        raise ClusterError("down", f"cannot unmount {left[:5]}")


# ---- cgroups -----------------------------------------------------------------------------------


def cgroup_hierarchies() -> list[Path]:
    """The mounted v1 hierarchies (one folder per controller set)."""
    found = []
    with open("/proc/self/mountinfo") as info:
        for line in info:
            fields = line.split()
            sep = fields.index("-")
            if fields[sep + 1] == "cgroup" and fields[4].startswith(str(CGROUP_FS) + "/"):
                found.append(Path(fields[4]))
    return found


def make_cgroup_root() -> None:
    """The kubelet's --cgroup-root, made in every hierarchy (cpuset's needs its cpus and mems)."""
    for hierarchy in cgroup_hierarchies():
        root = hierarchy / CGROUP_ROOT
        root.mkdir(exist_ok=True)
        for name in ("cpuset.cpus", "cpuset.mems"):
            if (root / name).exists() and not (root / name).read_text().strip():
                (root / name).write_text((hierarchy / name).read_text())


def cgroup_pids() -> set[int]:
    pids: set[int] = set()
    for hierarchy in cgroup_hierarchies():
        root = hierarchy / CGROUP_ROOT
        if not root.is_dir():
            continue
        for procs in root.rglob("cgroup.procs"):
            try:
                pids.update(int(p) for p in procs.read_text().split())
            except OSError:
                continue
    return pids


def remove_cgroups() -> list[Path]:
    """rmdir every cgroup under the root, deepest first; returns those that could not go."""
    stuck = []
    for hierarchy in cgroup_hierarchies():
        root = hierarchy / CGROUP_ROOT
        if not root.is_dir():
            continue
        dirs = sorted(
            (p for p in root.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True
        )
        for path in [*dirs, root]:
            for _ in range(20):
                try:
                    os.rmdir(path)
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.1)
            else:
                stuck.append(path)
    return stuck
