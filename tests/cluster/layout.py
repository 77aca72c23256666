"""The test cluster's fixed shape: names, addresses, ports and where each piece writes.

One node. Its address and the pods' gateway live on a bridge of this machine; pods sit on
that bridge in network namespaces this cluster makes; nothing is routed off the machine
(hostnet.py drops pod traffic to any other address).
"""

from __future__ import annotations

from pathlib import Path

from tests.cluster.paths import CACHE_DIR, RUN_DIR, STATE_DIR

CONTEXT = "tradestorm-local"
CLUSTER_NAME = "tradestorm-local"
NODE_NAME = "tradestorm-node"

#: the pods' bridge (it also holds the node's address)
BRIDGE = "tsbr0"
#: the node's own address: kubelet, the API server's endpoint, node metrics
NODE_IP = "10.87.0.1"
#: the pods' addresses (one node: one /24 of the cluster CIDR)
CLUSTER_CIDR = "10.244.0.0/16"
POD_CIDR = "10.244.0.0/24"
POD_GATEWAY = "10.244.0.1"
SERVICE_CIDR = "10.96.0.0/16"
KUBERNETES_SERVICE_IP = "10.96.0.1"
DNS_SERVICE_IP = "10.96.0.10"
CLUSTER_DOMAIN = "cluster.local"

API_PORT = 6443
ETCD_CLIENT_PORT = 2379
ETCD_PEER_PORT = 2380
KUBELET_PORT = 10250
KUBELET_HEALTHZ_PORT = 10248
CONTROLLER_MANAGER_PORT = 10257
SCHEDULER_PORT = 10259
PROXY_HEALTHZ_PORT = 10256
PROXY_METRICS_PORT = 10249
#: every port a piece binds on this machine: up refuses to start when one is taken
PORTS = {
    "kube-apiserver": API_PORT,
    "etcd": ETCD_CLIENT_PORT,
    "etcd (peer)": ETCD_PEER_PORT,
    "kubelet": KUBELET_PORT,
    "kubelet (healthz)": KUBELET_HEALTHZ_PORT,
    "kube-controller-manager": CONTROLLER_MANAGER_PORT,
    "kube-scheduler": SCHEDULER_PORT,
    "kube-proxy (healthz)": PROXY_HEALTHZ_PORT,
    "kube-proxy (metrics)": PROXY_METRICS_PORT,
}

#: iptables chain of ours (the egress guard); kube-proxy's are KUBE-*, the CNI plugins' CNI-*
GUARD_CHAIN = "TRADESTORM-GUARD"

PKI_DIR = STATE_DIR / "pki"
CONFIG_DIR = STATE_DIR / "config"
LOG_DIR = STATE_DIR / "logs"
PID_DIR = STATE_DIR / "pids"
ETCD_DATA_DIR = STATE_DIR / "etcd"
KUBELET_DIR = STATE_DIR / "kubelet"
POD_LOG_DIR = STATE_DIR / "pod-logs"
#: containerd's content and snapshots: an image cache kept from one cluster to the next, so a
#: warm up imports nothing (down removes every container from it; only images stay)
CONTAINERD_ROOT = CACHE_DIR / "containerd"
CONTAINERD_STATE = RUN_DIR / "containerd"
CONTAINERD_SOCKET = RUN_DIR / "containerd.sock"
CNI_CONF_DIR = STATE_DIR / "cni" / "net.d"
CNI_DATA_DIR = STATE_DIR / "cni" / "ipam"
VOLUMES_DIR = STATE_DIR / "volumes"
#: what up records so that down can undo it (sysctls it changed, its start time)
UNDO_FILE = STATE_DIR / "undo.json"
#: the kubeconfig up writes (context CONTEXT, cluster-admin)
ADMIN_KUBECONFIG = STATE_DIR / "kubeconfig"
#: CNI plugin binaries from Debian's containernetworking-plugins
CNI_BIN_DIR = Path("/usr/lib/cni")
#: containerd 1.6 mounts every pod's network namespace here, named cni-<uuid>
NETNS_DIR = Path("/var/run/netns")
#: the kubelet's container-log symlinks (a fixed path in the kubelet)
CONTAINER_LOG_LINKS = Path("/var/log/containers")
