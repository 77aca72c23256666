"""Fixtures: a FAKE cluster (tests/kube/fake_cluster.py) with a kubeconfig of
two contexts, and a copy of k8s/ whose kind overlay has a generated secrets.env."""

from __future__ import annotations

import io
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.kube.fake_cluster import FakeCluster
from tradestorm.kube.target import KubernetesTarget

REPO = Path(__file__).resolve().parents[2]
ALLOWED = "fake-allowed"
FORBIDDEN = "fake-forbidden"


@pytest.fixture(scope="session")
def manifests(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("kube-manifests") / "k8s"
    shutil.copytree(REPO / "k8s", root, ignore=shutil.ignore_patterns("secrets.env"))
    (root / "overlays/kind/secrets.env").write_text(
        f"POSTGRES_PASSWORD={secrets.token_hex(24)}\nTRADEPLAT_ADMIN_KEY={secrets.token_hex(32)}\n")
    return root


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
