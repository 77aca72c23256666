"""The cluster's own programs, built from the Go module proxy at the pinned release."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests.cluster.gobuild import GoBuild, required_version

#: the release, as gomod/kubernetes/go.mod pins it (the one place it changes)
KUBERNETES = required_version("kubernetes", "k8s.io/kubernetes")

_MAJOR, _MINOR = KUBERNETES.lstrip("v").split(".")[:2]

#: the control plane, the node and kubectl, and etcd, in one go build (they share most packages)
KUBERNETES_BUILD = GoBuild(
    module="kubernetes",
    programs={
        "kube-apiserver": "k8s.io/kubernetes/cmd/kube-apiserver",
        "kube-controller-manager": "k8s.io/kubernetes/cmd/kube-controller-manager",
        "kube-scheduler": "k8s.io/kubernetes/cmd/kube-scheduler",
        "kubelet": "k8s.io/kubernetes/cmd/kubelet",
        "kube-proxy": "k8s.io/kubernetes/cmd/kube-proxy",
        "kubectl": "k8s.io/kubernetes/cmd/kubectl",
        "etcd": "go.etcd.io/etcd/server/v3",
    },
    # what `kubectl version` and the API server's /version report (a module build has no git)
    ldflags=tuple(
        f"-X {pkg}.{var}={value}"
        for pkg in ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version")
        for var, value in (
            ("gitVersion", KUBERNETES),
            ("gitMajor", _MAJOR),
            ("gitMinor", _MINOR),
            ("gitTreeState", "clean"),
        )
    ),
)


def kubernetes_binaries(log: Callable[[str], None] | None = None) -> dict[str, Path]:
    return KUBERNETES_BUILD.build(log=log)
