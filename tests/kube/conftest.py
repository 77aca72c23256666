"""Fixtures: a FAKE cluster (tests/kube/fake_cluster.py) with a kubeconfig of
two contexts, and a copy of k8s/ whose kind overlay has a generated secrets.env."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.k8s.tree import shared_k8s_tree
from tests.kube.fake_cluster import FakeCluster
from tradestorm.kube.target import KubernetesTarget

REPO = Path(__file__).resolve().parents[2]
ALLOWED = "fake-allowed"
FORBIDDEN = "fake-forbidden"


@pytest.fixture(scope="session")
def manifests() -> Path:
    """The session's copy of k8s/ (shared with tests/k8s, so renders are cached across both)."""
    return shared_k8s_tree()


@pytest.fixture
def cluster() -> Iterator[FakeCluster]:
    with FakeCluster() as fake:
        yield fake


@pytest.fixture
def kubeconfig(cluster: FakeCluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = cluster.write_kubeconfig(tmp_path / "kubeconfig", contexts=[ALLOWED, FORBIDDEN])
    monkeypatch.setenv("KUBECONFIG", str(path))
    monkeypatch.delenv("TRADESTORM_ALLOWED_CONTEXTS", raising=False)
    return path


def make_target(kubeconfig: Path, manifests: Path, *, context: str = ALLOWED,
                overlay: str = "kind", **kwargs: object) -> tuple[KubernetesTarget, io.StringIO]:
    out = io.StringIO()
    defaults: dict[str, object] = {"allowed_contexts": [ALLOWED], "poll_interval_s": 0.05}
    defaults.update(kwargs)
    target = KubernetesTarget(context=context, overlay=overlay, kubeconfig=kubeconfig,
                              manifests_dir=manifests, out=out, **defaults)  # type: ignore[arg-type]
    return target, out
