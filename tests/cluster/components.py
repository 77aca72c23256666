"""Each piece of the cluster: the files it reads and the command line that starts it.

The flags follow what Kubernetes' own hack/local-up-cluster.sh and kubeadm give each
component, for one node whose control plane runs as plain processes.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from pathlib import Path

import yaml

from tests.cluster import pki
from tests.cluster.hostnet import CGROUP_ROOT
from tests.cluster.layout import (
    API_PORT,
    BRIDGE,
    CLUSTER_CIDR,
    CLUSTER_DOMAIN,
    CLUSTER_NAME,
    CNI_BIN_DIR,
    CNI_CONF_DIR,
    CNI_DATA_DIR,
    CONFIG_DIR,
    CONTAINERD_ROOT,
    CONTAINERD_SOCKET,
    CONTAINERD_STATE,
    CONTEXT,
    CONTROLLER_MANAGER_PORT,
    DNS_SERVICE_IP,
    ETCD_CLIENT_PORT,
    ETCD_DATA_DIR,
    ETCD_PEER_PORT,
    KUBELET_DIR,
    KUBELET_HEALTHZ_PORT,
    KUBELET_PORT,
    NODE_IP,
    NODE_NAME,
    POD_CIDR,
    POD_GATEWAY,
    POD_LOG_DIR,
    PROXY_HEALTHZ_PORT,
    PROXY_METRICS_PORT,
    SCHEDULER_PORT,
    SERVICE_CIDR,
    STATE_DIR,
)

API_URL = f"https://{NODE_IP}:{API_PORT}"
ETCD_URL = f"http://127.0.0.1:{ETCD_CLIENT_PORT}"
#: the pod sandbox image (images/ builds it; containerd starts every pod with it)
PAUSE_IMAGE = "tradestorm.local/pause:3.10"


@dataclass(frozen=True)
class Component:
    """One process of the cluster, in start order."""

    name: str
    argv: list[str]


def _b64(path: Path) -> str:
    return base64.b64encode(path.read_bytes()).decode()


def write_kubeconfig(path: Path, user: str, cert: pki.Cert) -> Path:
    """A kubeconfig for ``user`` with its certificate embedded (the file stands alone)."""
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": CONTEXT,
        "preferences": {},
        "clusters": [
            {
                "name": CLUSTER_NAME,
                "cluster": {"server": API_URL, "certificate-authority-data": _b64(pki.CA.crt)},
            }
        ],
        "users": [
            {
                "name": user,
                "user": {
                    "client-certificate-data": _b64(cert.crt),
                    "client-key-data": _b64(cert.key),
                },
            }
        ],
        "contexts": [{"name": CONTEXT, "context": {"cluster": CLUSTER_NAME, "user": user}}],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    path.chmod(0o600)
    return path


def _kubeconfig(name: str) -> Path:
    return CONFIG_DIR / f"{name}.kubeconfig"


def write_configs() -> None:
    """Every configuration file the processes read (certificates must exist)."""
    CONFIG_DIR.mkdir(parents=True, exist_ok=True)
    for name in ("controller-manager", "scheduler", "kubelet", "kube-proxy"):
        write_kubeconfig(_kubeconfig(name), name, pki.client(name))
    _write_containerd()
    _write_cni()
    (CONFIG_DIR / "resolv.conf").write_text(f"nameserver {DNS_SERVICE_IP}\n")
    _write_yaml(CONFIG_DIR / "kubelet.yaml", _kubelet_config())
    _write_yaml(CONFIG_DIR / "kube-proxy.yaml", _proxy_config())


def _write_yaml(path: Path, data: dict[str, object]) -> None:
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def _write_containerd() -> None:
    cri = 'plugins."io.containerd.grpc.v1.cri"'
    text = f"""\
version = 2
root = "{CONTAINERD_ROOT}"
state = "{CONTAINERD_STATE}"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs",
                    "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper",
                    "io.containerd.tracing.processor.v1.otlp"]

[grpc]
  address = "{CONTAINERD_SOCKET}"

[ttrpc]
  address = "{CONTAINERD_SOCKET}.ttrpc"

[plugins."io.containerd.internal.v1.opt"]
  path = "{STATE_DIR / "containerd-opt"}"

[{cri}]
  sandbox_image = "{PAUSE_IMAGE}"
  enable_selinux = false
  enable_unprivileged_ports = true
  enable_unprivileged_icmp = true
  # this machine refuses to lower a process's oom_score_adj (runc init fails with
  # "failed to update /proc/self/oom_score_adj: Permission denied"): clamp at containerd's own
  restrict_oom_score_adj = true

[{cri}.containerd]
  snapshotter = "overlayfs"
  default_runtime_name = "runc"
  discard_unpacked_layers = false

[{cri}.containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"

[{cri}.containerd.runtimes.runc.options]
  SystemdCgroup = false

[{cri}.cni]
  bin_dir = "{CNI_BIN_DIR}"
  conf_dir = "{CNI_CONF_DIR}"
  max_conf_num = 1
"""
    (CONFIG_DIR / "containerd.toml").write_text(text)


def _write_cni() -> None:
    CNI_CONF_DIR.mkdir(parents=True, exist_ok=True)
    conflist = {
        "cniVersion": "1.0.0",
        "name": "tradestorm",
        "plugins": [
            {
                "type": "bridge",
                "bridge": BRIDGE,
                "isGateway": True,
                "ipMasq": False,
                "hairpinMode": True,
                "ipam": {
                    "type": "host-local",
                    "ranges": [[{"subnet": POD_CIDR, "gateway": POD_GATEWAY}]],
                    "routes": [{"dst": "0.0.0.0/0"}],
                    "dataDir": str(CNI_DATA_DIR),
                },
            }
        ],
    }
    (CNI_CONF_DIR / "10-tradestorm.conflist").write_text(json.dumps(conflist, indent=1))


def _kubelet_config() -> dict[str, object]:
    return {
        "apiVersion": "kubelet.config.k8s.io/v1beta1",
        "kind": "KubeletConfiguration",
        "address": NODE_IP,
        "port": KUBELET_PORT,
        "readOnlyPort": 0,
        "healthzBindAddress": "127.0.0.1",
        "healthzPort": KUBELET_HEALTHZ_PORT,
        "cgroupDriver": "cgroupfs",
        "cgroupRoot": f"/{CGROUP_ROOT}",
        "cgroupsPerQOS": True,
        # this machine's kernel has the v1 hierarchy; 1.34 still runs on it when told so
        "failCgroupV1": False,
        "failSwapOn": False,
        "containerRuntimeEndpoint": f"unix://{CONTAINERD_SOCKET}",
        "authentication": {
            "anonymous": {"enabled": False},
            "webhook": {"enabled": True},
            "x509": {"clientCAFile": str(pki.CA.crt)},
        },
        "authorization": {"mode": "Webhook"},
        "clusterDNS": [DNS_SERVICE_IP],
        "clusterDomain": CLUSTER_DOMAIN,
        # pods never see this machine's resolvers: no name lookup leaves the machine
        "resolvConf": str(CONFIG_DIR / "resolv.conf"),
        "tlsCertFile": str(pki.KUBELET_SERVING.crt),
        "tlsPrivateKeyFile": str(pki.KUBELET_SERVING.key),
        "rotateCertificates": False,
        "podLogsDir": str(POD_LOG_DIR),
        "serializeImagePulls": False,
        # images are imported, never pulled: nothing may collect them
        "imageGCHighThresholdPercent": 100,
        "imageGCLowThresholdPercent": 99,
        "evictionHard": {
            "memory.available": "200Mi",
            "nodefs.available": "2%",
            "imagefs.available": "2%",
            "nodefs.inodesFree": "2%",
        },
        "maxPods": 110,
        "registerNode": True,
        "shutdownGracePeriod": "0s",
        "nodeStatusUpdateFrequency": "5s",
    }


def _proxy_config() -> dict[str, object]:
    return {
        "apiVersion": "kubeproxy.config.k8s.io/v1alpha1",
        "kind": "KubeProxyConfiguration",
        "clientConnection": {"kubeconfig": str(_kubeconfig("kube-proxy"))},
        "mode": "iptables",
        "clusterCIDR": CLUSTER_CIDR,
        "hostnameOverride": NODE_NAME,
        "healthzBindAddress": f"127.0.0.1:{PROXY_HEALTHZ_PORT}",
        "metricsBindAddress": f"127.0.0.1:{PROXY_METRICS_PORT}",
        # NodePorts on the node's own address only (no route_localnet on this machine)
        "nodePortAddresses": [f"{NODE_IP}/32"],
        # leave this machine's conntrack sysctls as they are
        "conntrack": {
            "maxPerCore": 0,
            "min": 0,
            "tcpEstablishedTimeout": "0s",
            "tcpCloseWaitTimeout": "0s",
            "udpTimeout": "0s",
            "udpStreamTimeout": "0s",
        },
        "iptables": {"localhostNodePorts": False, "syncPeriod": "10s", "minSyncPeriod": "1s"},
    }


def components(bins: dict[str, Path]) -> list[Component]:
    """Every process, in the order they start (each waits for the one before where it must)."""
    kc = _kubeconfig

    def auth(name: str) -> list[str]:
        return [
            f"--{flag}={kc(name)}"
            for flag in ("kubeconfig", "authentication-kubeconfig", "authorization-kubeconfig")
        ]

    return [
        Component(
            "etcd",
            [
                str(bins["etcd"]),
                "--name=tradestorm",
                f"--data-dir={ETCD_DATA_DIR}",
                f"--listen-client-urls={ETCD_URL}",
                f"--advertise-client-urls={ETCD_URL}",
                f"--listen-peer-urls=http://127.0.0.1:{ETCD_PEER_PORT}",
                f"--initial-advertise-peer-urls=http://127.0.0.1:{ETCD_PEER_PORT}",
                f"--initial-cluster=tradestorm=http://127.0.0.1:{ETCD_PEER_PORT}",
                "--log-level=warn",
            ],
        ),
        Component(
            "containerd",
            ["containerd", f"--config={CONFIG_DIR / 'containerd.toml'}", "--log-level=warn"],
        ),
        Component(
            "kube-apiserver",
            [
                str(bins["kube-apiserver"]),
                f"--etcd-servers={ETCD_URL}",
                f"--bind-address={NODE_IP}",
                f"--advertise-address={NODE_IP}",
                f"--secure-port={API_PORT}",
                f"--service-cluster-ip-range={SERVICE_CIDR}",
                f"--tls-cert-file={pki.APISERVER.crt}",
                f"--tls-private-key-file={pki.APISERVER.key}",
                f"--client-ca-file={pki.CA.crt}",
                f"--kubelet-client-certificate={pki.client('apiserver-kubelet-client').crt}",
                f"--kubelet-client-key={pki.client('apiserver-kubelet-client').key}",
                f"--kubelet-certificate-authority={pki.CA.crt}",
                "--kubelet-preferred-address-types=InternalIP",
                f"--service-account-issuer=https://kubernetes.default.svc.{CLUSTER_DOMAIN}",
                f"--service-account-key-file={pki.service_account_public_key()}",
                f"--service-account-signing-key-file={pki.SERVICE_ACCOUNT.key}",
                "--authorization-mode=Node,RBAC",
                "--enable-admission-plugins=NodeRestriction",
                f"--requestheader-client-ca-file={pki.FRONT_PROXY_CA.crt}",
                "--requestheader-allowed-names=front-proxy-client",
                "--requestheader-username-headers=X-Remote-User",
                "--requestheader-group-headers=X-Remote-Group",
                "--requestheader-extra-headers-prefix=X-Remote-Extra-",
                f"--proxy-client-cert-file={pki.FRONT_PROXY_CLIENT.crt}",
                f"--proxy-client-key-file={pki.FRONT_PROXY_CLIENT.key}",
                "--enable-aggregator-routing=true",
                "--allow-privileged=true",
                "--profiling=false",
                "--v=1",
            ],
        ),
        Component(
            "kube-controller-manager",
            [
                str(bins["kube-controller-manager"]),
                *auth("controller-manager"),
                "--bind-address=127.0.0.1",
                f"--secure-port={CONTROLLER_MANAGER_PORT}",
                f"--service-account-private-key-file={pki.SERVICE_ACCOUNT.key}",
                f"--root-ca-file={pki.CA.crt}",
                f"--cluster-signing-cert-file={pki.CA.crt}",
                f"--cluster-signing-key-file={pki.CA.key}",
                "--use-service-account-credentials=true",
                "--controllers=*,bootstrapsigner,tokencleaner",
                "--allocate-node-cidrs=true",
                f"--cluster-cidr={CLUSTER_CIDR}",
                "--node-cidr-mask-size=24",
                f"--service-cluster-ip-range={SERVICE_CIDR}",
                "--leader-elect=false",
                "--profiling=false",
                "--v=1",
            ],
        ),
        Component(
            "kube-scheduler",
            [
                str(bins["kube-scheduler"]),
                *auth("scheduler"),
                "--bind-address=127.0.0.1",
                f"--secure-port={SCHEDULER_PORT}",
                "--leader-elect=false",
                "--profiling=false",
                "--v=1",
            ],
        ),
        Component(
            "kubelet",
            [
                str(bins["kubelet"]),
                f"--config={CONFIG_DIR / 'kubelet.yaml'}",
                f"--kubeconfig={kc('kubelet')}",
                f"--root-dir={KUBELET_DIR}",
                f"--hostname-override={NODE_NAME}",
                f"--node-ip={NODE_IP}",
                "--v=1",
            ],
        ),
        Component(
            "kube-proxy",
            [str(bins["kube-proxy"]), f"--config={CONFIG_DIR / 'kube-proxy.yaml'}", "--v=1"],
        ),
    ]
