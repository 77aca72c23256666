"""The cluster's certificates and keys, made with the openssl command (EC P-256, short-lived).

One cluster CA signs the API server's serving certificate, the kubelet's, and every client
(admin, controller-manager, scheduler, kubelet, kube-proxy, the API server towards kubelets).
A second CA (front proxy) signs the aggregation layer's client (metrics-server trusts it).
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from tests.cluster.errors import ClusterError
from tests.cluster.layout import CLUSTER_DOMAIN, KUBERNETES_SERVICE_IP, NODE_IP, NODE_NAME, PKI_DIR

_DAYS = "30"


@dataclass(frozen=True)
class Cert:
    """A certificate and its key, as files."""

    name: str

    @property
    def crt(self) -> Path:
        return PKI_DIR / f"{self.name}.crt"

    @property
    def key(self) -> Path:
        return PKI_DIR / f"{self.name}.key"


CA = Cert("ca")
FRONT_PROXY_CA = Cert("front-proxy-ca")
APISERVER = Cert("apiserver")
KUBELET_SERVING = Cert("kubelet-serving")
SERVICE_ACCOUNT = Cert("service-account")  # key pair only: .key signs, .pub verifies
#: client certificates: name -> (common name, organisation)
CLIENTS: dict[str, tuple[str, str | None]] = {
    "admin": ("tradestorm-admin", "system:masters"),
    "controller-manager": ("system:kube-controller-manager", None),
    "scheduler": ("system:kube-scheduler", None),
    "kubelet": (f"system:node:{NODE_NAME}", "system:nodes"),
    "kube-proxy": ("system:kube-proxy", None),
    "apiserver-kubelet-client": ("kube-apiserver-kubelet-client", "kubeadm:cluster-admins"),
}
FRONT_PROXY_CLIENT = Cert("front-proxy-client")


def client(name: str) -> Cert:
    return Cert(f"client-{name}")


def service_account_public_key() -> Path:
    return PKI_DIR / "service-account.pub"


def _openssl(*args: str, stdin: str | None = None) -> None:
    proc = subprocess.run(["openssl", *args], input=stdin, capture_output=True, text=True)
    if proc.returncode != 0:
        raise ClusterError(
            "certificates", f"openssl {args[0]} failed: {proc.stderr.strip()[-500:]}"
        )


def _key(path: Path) -> None:
    _openssl(
        "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", str(path)
    )
    path.chmod(0o600)


def _ca(cert: Cert, common_name: str) -> None:
    _key(cert.key)
    _openssl(
        "req",
        "-x509",
        "-new",
        "-key",
        str(cert.key),
        "-subj",
        f"/CN={common_name}",
        "-days",
        _DAYS,
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign,digitalSignature",
        "-out",
        str(cert.crt),
    )


def _leaf(
    cert: Cert, ca: Cert, subject: str, usage: str, alt_names: list[str] | None = None
) -> None:
    _key(cert.key)
    csr = cert.crt.with_suffix(".csr")
    ext = cert.crt.with_suffix(".ext")
    lines = [
        "basicConstraints=critical,CA:FALSE",
        "keyUsage=critical,digitalSignature,keyEncipherment",
        f"extendedKeyUsage={usage}",
    ]
    if alt_names:
        lines.append("subjectAltName=" + ",".join(alt_names))
    ext.write_text("\n".join(lines) + "\n")
    _openssl("req", "-new", "-key", str(cert.key), "-subj", subject, "-out", str(csr))
    _openssl(
        "x509",
        "-req",
        "-in",
        str(csr),
        "-CA",
        str(ca.crt),
        "-CAkey",
        str(ca.key),
        "-CAcreateserial",
        "-days",
        _DAYS,
        "-extfile",
        str(ext),
        "-out",
        str(cert.crt),
    )
    csr.unlink()
    ext.unlink()


def make_all() -> None:
    """Every certificate and key the cluster uses, fresh (a new cluster trusts no old one)."""
    PKI_DIR.mkdir(parents=True, exist_ok=True)
    PKI_DIR.chmod(0o700)
    _ca(CA, "tradestorm-local-ca")
    _ca(FRONT_PROXY_CA, "tradestorm-local-front-proxy-ca")
    _leaf(
        APISERVER,
        CA,
        "/CN=kube-apiserver",
        "serverAuth",
        [
            "DNS:kubernetes",
            "DNS:kubernetes.default",
            "DNS:kubernetes.default.svc",
            f"DNS:kubernetes.default.svc.{CLUSTER_DOMAIN}",
            "DNS:localhost",
            "IP:127.0.0.1",
            f"IP:{NODE_IP}",
            f"IP:{KUBERNETES_SERVICE_IP}",
        ],
    )
    _leaf(
        KUBELET_SERVING,
        CA,
        f"/CN={NODE_NAME}/O=system:nodes",
        "serverAuth",
        [f"DNS:{NODE_NAME}", f"IP:{NODE_IP}", "IP:127.0.0.1"],
    )
    for name, (common_name, org) in CLIENTS.items():
        subject = f"/CN={common_name}" + (f"/O={org}" if org else "")
        _leaf(client(name), CA, subject, "clientAuth")
    _leaf(FRONT_PROXY_CLIENT, FRONT_PROXY_CA, "/CN=front-proxy-client", "clientAuth")
    _key(SERVICE_ACCOUNT.key)
    _openssl(
        "pkey",
        "-in",
        str(SERVICE_ACCOUNT.key),
        "-pubout",
        "-out",
        str(service_account_public_key()),
    )
