"""``tradestorm up --target kubernetes`` through the real CLI, against the FAKE API server."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from tests.kube.conftest import ALLOWED, FORBIDDEN
from tests.kube.fake_cluster import FakeCluster
from tradestorm.cli import cli


def test_up_refuses_an_unlisted_context_with_exit_2(
    cluster: FakeCluster, kubeconfig: Path, manifests: Path
) -> None:
    result = CliRunner().invoke(cli, [
        "up", "--target", "kubernetes", "--context", FORBIDDEN, "--allow-context", ALLOWED,
        "--overlay", str(manifests / "overlays/kind")])
    assert result.exit_code == 2, result.output
    assert f"kube context '{FORBIDDEN}' is not allowed" in result.output
    assert cluster.requests == []


def test_up_dry_run_lists_the_objects_and_touches_nothing(
    cluster: FakeCluster, kubeconfig: Path, manifests: Path
) -> None:
    result = CliRunner().invoke(cli, [
        "up", "--target", "kubernetes", "--context", ALLOWED, "--allow-context", ALLOWED,
        "--overlay", str(manifests / "overlays/kind"), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "would apply Deployment tradestorm/gateway" in result.output
    assert "nothing applied" in result.output
    assert cluster.requests == []


def test_up_deploys_and_reports_the_status(
    cluster: FakeCluster, kubeconfig: Path, manifests: Path
) -> None:
    result = CliRunner().invoke(cli, [
        "up", "--target", "kubernetes", "--context", ALLOWED, "--allow-context", ALLOWED,
        "--overlay", str(manifests / "overlays/kind"), "--timeout", "30"])
    assert result.exit_code == 0, result.output
    assert "rolled out" in result.output
    assert cluster.get("apps/v1", "Deployment", "gateway", "tradestorm") is not None
