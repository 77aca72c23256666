"""The add-ons' Go programs: one module of ours per add-on (``gomod/<addon>``), each pinning
the upstream release in its go.mod; the versions below are read from those go.mod files, so
the go.mod is the one place a version changes."""

from __future__ import annotations

from tests.cluster.gobuild import GoBuild, required_version

COREDNS_MODULE = "github.com/coredns/coredns"
METRICS_SERVER_MODULE = "sigs.k8s.io/metrics-server"
KUBE_STATE_METRICS_MODULE = "k8s.io/kube-state-metrics/v2"
PROMETHEUS_OPERATOR_MODULE = "github.com/prometheus-operator/prometheus-operator"
#: Prometheus' Go module numbers release 2.X.Y as v0.X.Y
PROMETHEUS_MODULE = "github.com/prometheus/prometheus"
_PROMETHEUS_VERSION_PKG = "github.com/prometheus/common/version"


COREDNS_VERSION = required_version("coredns", COREDNS_MODULE)
METRICS_SERVER_VERSION = required_version("metrics-server", METRICS_SERVER_MODULE)
KUBE_STATE_METRICS_VERSION = required_version("kube-state-metrics", KUBE_STATE_METRICS_MODULE)
PROMETHEUS_OPERATOR_VERSION = required_version("prometheus-operator", PROMETHEUS_OPERATOR_MODULE)
#: the Prometheus release (v2.42.0) of the module version (v0.42.0)
PROMETHEUS_VERSION = "v2." + required_version("prometheus", PROMETHEUS_MODULE).removeprefix("v0.")
#: client-go of kube-state-metrics (its build_info metric reports it)
_KSM_CLIENT_GO = required_version("kube-state-metrics", "k8s.io/client-go")

COREDNS_BUILD = GoBuild(
    module="coredns",
    programs={"coredns": COREDNS_MODULE},
    # `coredns -version` prints CoreDNS-<coremain.CoreVersion> and this in place of a commit
    ldflags=(f"-X {COREDNS_MODULE}/coremain.GitCommit={COREDNS_VERSION}",),
)

METRICS_SERVER_BUILD = GoBuild(
    module="metrics-server",
    programs={"metrics-server": f"{METRICS_SERVER_MODULE}/cmd/metrics-server"},
    # what `metrics-server --version` prints (its Makefile sets the same variables)
    ldflags=(
        f"-X k8s.io/client-go/pkg/version.gitVersion={METRICS_SERVER_VERSION}",
        "-X k8s.io/client-go/pkg/version.gitTreeState=clean",
    ),
)

KUBE_STATE_METRICS_BUILD = GoBuild(
    module="kube-state-metrics",
    programs={"kube-state-metrics": KUBE_STATE_METRICS_MODULE},
    ldflags=(
        f"-X {_PROMETHEUS_VERSION_PKG}.Version={KUBE_STATE_METRICS_VERSION}",
        f"-X {_PROMETHEUS_VERSION_PKG}.Branch=release",
        f"-X {KUBE_STATE_METRICS_MODULE}/pkg/app.ClientGoVersion={_KSM_CLIENT_GO}",
    ),
    # the time zone database inside the binary: its image (from scratch) has no zoneinfo, and
    # it loads the spec.timeZone of every CronJob (the platform's postgres-backup: Etc/UTC);
    # without it, it panics and crash-loops as soon as such a CronJob exists
    env={"GOFLAGS": "-buildvcs=false -tags=timetzdata"},
)

PROMETHEUS_OPERATOR_BUILD = GoBuild(
    module="prometheus-operator",
    programs={
        "prometheus-operator": f"{PROMETHEUS_OPERATOR_MODULE}/cmd/operator",
        "prometheus-config-reloader": (
            f"{PROMETHEUS_OPERATOR_MODULE}/cmd/prometheus-config-reloader"
        ),
    },
    # the project's Makefile sets Version without the "v" (VERSION file: 0.78.2)
    ldflags=(
        f"-X {_PROMETHEUS_VERSION_PKG}.Version={PROMETHEUS_OPERATOR_VERSION.lstrip('v')}",
        f"-X {_PROMETHEUS_VERSION_PKG}.Branch=release",
    ),
)

PROMETHEUS_BUILD = GoBuild(
    module="prometheus",
    programs={
        "prometheus": f"{PROMETHEUS_MODULE}/cmd/prometheus",
        "promtool": f"{PROMETHEUS_MODULE}/cmd/promtool",
    },
    # what `prometheus --version` and /api/v1/status/buildinfo report (its .promu.yml sets these);
    # no web UI assets (they are built with npm, not part of the module): the API is complete
    ldflags=(
        f"-X {_PROMETHEUS_VERSION_PKG}.Version={PROMETHEUS_VERSION.lstrip('v')}",
        f"-X {_PROMETHEUS_VERSION_PKG}.Branch=release",
    ),
)

ADDON_BUILDS: tuple[GoBuild, ...] = (
    COREDNS_BUILD,
    METRICS_SERVER_BUILD,
    KUBE_STATE_METRICS_BUILD,
    PROMETHEUS_OPERATOR_BUILD,
    PROMETHEUS_BUILD,
)
