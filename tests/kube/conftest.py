"""Fixtures of the Kubernetes target tests.

The target runs against the REAL single-node cluster of tests/cluster (context
``tradestorm-local``), where the session's ``kube_platform`` deployed the platform with the
``local`` overlay. A second context, ``prod-eu``, names the same live API server: a context
nobody allowed, so a refusal that failed would really change the platform.

Rendering-only tests use ``manifests``: the session's copy of k8s/ whose kind overlay has a
generated secrets.env.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.cluster.layout import CONTEXT
from tests.k8s.tree import shared_k8s_tree
from tradestorm.kube.client import KubeConnection

REPO = Path(__file__).resolve().parents[2]
ALLOWED = CONTEXT  # tradestorm-local
FORBIDDEN = "prod-eu"  # the same cluster under a name that is not allowed
NS = "tradestorm"
PLATFORM = {"gateway", "orders", "risk", "portfolio", "marketdata", "analytics"}


@pytest.fixture(scope="session")
def manifests() -> Path:
    """The session's copy of k8s/ (shared with tests/k8s, so renders are cached across both)."""
    return shared_k8s_tree()


@pytest.fixture(autouse=True)
def _no_allow_list_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TRADESTORM_ALLOWED_CONTEXTS", raising=False)


@pytest.fixture
def platform(kube_platform: Any) -> Any:
    """The deployed platform, healthy and settled (a test before may have disturbed it)."""
    kube_platform.wait_healthy()
    return kube_platform


@pytest.fixture
def kubeconfig(kube_cluster: Any, tmp_path: Path) -> Path:
    """The cluster's kubeconfig plus the context ``prod-eu`` naming the same API server."""
    return kube_cluster.write_kubeconfig(tmp_path / "kubeconfig", aliases=(FORBIDDEN,))


class Connections:
    """``KubernetesTarget(connect=...)``: real connections, counted (a refusal makes none)."""

    def __init__(self) -> None:
        self.contexts: list[str] = []

    def __call__(self, context: str, kubeconfig: Path | None) -> KubeConnection:
        self.contexts.append(context)
        return KubeConnection(context, kubeconfig)


@pytest.fixture
def connections() -> Iterator[Connections]:
    yield Connections()


def no_connection(context: str, kubeconfig: Path | None) -> KubeConnection:
    raise AssertionError(f"the target connected to context {context!r}")
