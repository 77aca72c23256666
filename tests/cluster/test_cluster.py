"""The test cluster's own contract (tests/cluster/README.md), checked on the running cluster
with real effects, cheaply.

Nothing here brings the cluster up or takes it down (the session's ``kube_cluster`` owns it,
and its teardown asserts that ``down`` leaves nothing): the preflight checks are called
while the running cluster holds what they look for, so they must refuse, naming the piece,
without touching it.
"""

from __future__ import annotations

import json
import re
import socket
import subprocess
import time
from typing import Any

import pytest

from tests.cluster import cluster, preflight
from tests.cluster.__main__ import main
from tests.cluster.addons.probes import dns_problem, dns_query
from tests.cluster.binaries import KUBERNETES
from tests.cluster.errors import ClusterError
from tests.cluster.layout import (
    BRIDGE,
    CLUSTER_CIDR,
    DNS_SERVICE_IP,
    GUARD_CHAIN,
    KUBERNETES_SERVICE_IP,
    NODE_NAME,
)

pytestmark = pytest.mark.timeout(300)

PIECES = {"etcd", "containerd", "kube-apiserver", "kube-controller-manager", "kube-scheduler",
          "kubelet", "kube-proxy"}
#: TEST-NET-1 (RFC 5737): documentation only, nothing answers it; the guard drops it anyway
OUTSIDE = "192.0.2.1"


def test_status_of_the_running_cluster_is_healthy(kube_cluster: Any,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    state = cluster.status()
    assert state.healthy and state.api_ready and state.node_ready
    assert state.processes == {piece: True for piece in PIECES}
    assert main(["status"]) == 0
    printed = capsys.readouterr().out
    for piece in PIECES:
        assert re.search(rf"^{re.escape(piece)} +running$", printed, re.M), printed
    assert re.search(r"^node Ready +True$", printed, re.M)


def test_the_node_is_ready_and_runs_the_pinned_release(kube_cluster: Any) -> None:
    node = kube_cluster.get("node", NODE_NAME)
    assert node["status"]["nodeInfo"]["kubeletVersion"] == KUBERNETES == "v1.34.4"
    ready = next(c for c in node["status"]["conditions"] if c["type"] == "Ready")
    assert ready["status"] == "True", ready
    assert not node["spec"].get("unschedulable")
    server = json.loads(kube_cluster.kubectl("version", "-o", "json"))["serverVersion"]
    assert server["gitVersion"] == KUBERNETES
    assert [n["metadata"]["name"] for n in kube_cluster.items("nodes")] == [NODE_NAME]


def test_the_cluster_dns_answers_its_names_and_nothing_outside(kube_cluster: Any) -> None:
    rcode, answers = dns_query(DNS_SERVICE_IP, "kubernetes.default.svc.cluster.local")
    assert (rcode, answers) == ("NOERROR", 1)
    assert dns_query(DNS_SERVICE_IP, "example.com") == ("NXDOMAIN", 0)  # nothing forwarded
    assert dns_problem(DNS_SERVICE_IP) is None


def test_kubectl_top_pods_answers(kube_cluster: Any) -> None:
    lines = kube_cluster.kubectl("top", "pods", "-n", "kube-system", "--no-headers").splitlines()
    measured = {line.split()[0].rsplit("-", 2)[0]: line for line in lines}
    assert {"coredns", "metrics-server", "kube-state-metrics"} <= set(measured), lines
    assert all(re.fullmatch(r"\S+\s+\d+m\s+\d+Mi", line.strip()) for line in lines), lines


def _guard_drops() -> int:
    """Packets the guard's DROP rule has dropped so far."""
    listing = subprocess.run(["iptables", "-w", "5", "-L", GUARD_CHAIN, "-n", "-v", "-x"],
                             capture_output=True, text=True, check=True).stdout
    (drop,) = [line.split() for line in listing.splitlines() if " DROP " in f" {line} "]
    return int(drop[0])


def test_pods_cannot_reach_outside_the_machine(kube_cluster: Any) -> None:
    """A pod of the platform's image tries a TEST-NET address (and, as a control, the API
    server's Service address): the first is dropped by the guard, the second connects."""
    rules = subprocess.run(["iptables", "-w", "5", "-S", GUARD_CHAIN], capture_output=True,
                           text=True, check=True).stdout.splitlines()
    assert rules == [f"-N {GUARD_CHAIN}",
                     f"-A {GUARD_CHAIN} -s {CLUSTER_CIDR} -d {CLUSTER_CIDR} -j RETURN",
                     f"-A {GUARD_CHAIN} -s {CLUSTER_CIDR} -j DROP"]
    forward = subprocess.run(["iptables", "-w", "5", "-S", "FORWARD"], capture_output=True,
                             text=True, check=True).stdout.splitlines()
    assert f"-A FORWARD -j {GUARD_CHAIN}" in forward
    # nothing before the guard accepts a new connection of a pod (kube-proxy's chains only
    # accept marked service traffic and established connections)
    before_guard = forward[:forward.index(f"-A FORWARD -j {GUARD_CHAIN}")]
    assert not [r for r in before_guard if r.endswith("-j ACCEPT")], before_guard

    script = (
        "import json, socket, time\n"
        "def attempt(host, port):\n"
        "    started = time.monotonic()\n"
        "    try:\n"
        "        socket.create_connection((host, port), timeout=3).close()\n"
        "        result = 'connected'\n"
        "    except OSError as exc:\n"
        "        result = type(exc).__name__\n"
        "    return [result, round(time.monotonic() - started, 2)]\n"
        f"print(json.dumps({{'outside': attempt('{OUTSIDE}', 80), "
        f"'api': attempt('{KUBERNETES_SERVICE_IP}', 443)}}))\n")
    name = f"egress-probe-{int(time.time())}"
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "default"},
           "spec": {"restartPolicy": "Never", "automountServiceAccountToken": False,
                    "securityContext": {"runAsNonRoot": True, "runAsUser": 10001,
                                        "seccompProfile": {"type": "RuntimeDefault"}},
                    "containers": [{
                        "name": "probe", "image": "tradeplat:dev", "imagePullPolicy": "Never",
                        "command": ["python", "-c", script],
                        "securityContext": {"allowPrivilegeEscalation": False,
                                            "capabilities": {"drop": ["ALL"]}}}]}}
    dropped_before = _guard_drops()
    kube_cluster.kubectl("create", "-f", "-", input=json.dumps(pod))
    try:
        def finished() -> str | None:
            phase = kube_cluster.get("pod", name, "-n", "default")["status"].get("phase")
            return None if phase in ("Succeeded", "Failed") else f"phase {phase}"

        kube_cluster.wait_until("the egress probe pod finished", finished, timeout_s=120)
        result = json.loads(kube_cluster.kubectl("logs", name, "-n", "default").strip())
    finally:
        kube_cluster.kubectl("delete", "pod", name, "-n", "default", "--grace-period=0",
                             "--force", "--ignore-not-found", check=False)
    assert result["api"][0] == "connected", result  # the pod's network works
    outcome, seconds = result["outside"]
    assert outcome in ("TimeoutError", "timeout"), result  # dropped: no answer, no refusal
    assert seconds < 5, result  # fails within the caller's timeout, does not hang
    assert _guard_drops() > dropped_before


def test_preflight_refuses_a_taken_port_naming_the_piece(
        kube_cluster: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ClusterError) as taken:
        preflight.check_ports()  # the running cluster holds every port
    assert taken.value.piece == "kube-apiserver"
    assert "port 6443 is taken" in str(taken.value)
    monkeypatch.setattr(preflight, "PORTS", {"kube-proxy (metrics)": 10249})
    with pytest.raises(ClusterError, match=r"kube-proxy \(metrics\): port 10249 is taken"):
        preflight.check_ports()
    with socket.socket() as probe:  # a port nobody holds passes
        probe.bind(("127.0.0.1", 0))
        free = probe.getsockname()[1]
    monkeypatch.setattr(preflight, "PORTS", {"nothing": free})
    preflight.check_ports()
    assert cluster.status().healthy


def test_preflight_refuses_a_host_where_the_bridge_exists(kube_cluster: Any) -> None:
    with pytest.raises(ClusterError) as refused:
        preflight.check_host()
    assert refused.value.piece == "network"
    assert f"network link {BRIDGE} exists already" in str(refused.value)
    assert cluster.status().healthy
