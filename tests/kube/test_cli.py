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


def test_status_and_down_take_the_same_target_options(
    cluster: FakeCluster, kubeconfig: Path, manifests: Path
) -> None:
    overlay = ["--overlay", str(manifests / "overlays/kind")]
    allowed = ["--target", "kubernetes", "--context", ALLOWED, "--allow-context", ALLOWED]
    assert CliRunner().invoke(cli, ["up", *allowed, *overlay, "--timeout", "30"]).exit_code == 0

    shown = CliRunner().invoke(cli, ["status", *allowed, *overlay, "--json"])
    assert shown.exit_code == 0, shown.output
    assert '"target": "kubernetes"' in shown.output
    assert '"name": "gateway"' in shown.output

    refused = CliRunner().invoke(cli, [
        "down", "--target", "kubernetes", "--context", FORBIDDEN, "--allow-context", ALLOWED,
        *overlay])
    assert refused.exit_code == 2, refused.output
    assert cluster.get("apps/v1", "Deployment", "gateway", "tradestorm") is not None

    removed = CliRunner().invoke(cli, ["down", *allowed, *overlay])
    assert removed.exit_code == 0, removed.output
    assert cluster.get("apps/v1", "Deployment", "gateway", "tradestorm") is None
    gone = CliRunner().invoke(cli, ["status", *allowed, *overlay])
    assert gone.exit_code == 3, gone.output
