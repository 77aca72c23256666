"""``KubernetesTarget`` against a FAKE Kubernetes API server: what a user of
``tradestorm up/down/status --target kubernetes`` would see."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.kube.conftest import ALLOWED, FORBIDDEN, make_target
from tests.kube.fake_cluster import FakeCluster
from tradestorm.errors import TargetError
from tradestorm.kube.errors import (
    ApiUnavailable,
    ApplyError,
    ContextNotAllowed,
    KubeconfigError,
    KubeError,
    NamespaceNotAllowed,
    OverlayNotFound,
    RenderError,
    RolloutFailed,
    RolloutTimeout,
)

PLATFORM = {"gateway", "orders", "risk", "portfolio", "marketdata", "analytics"}


def stored_names(cluster: FakeCluster, api_version: str, kind: str) -> set[str]:
    return {o["metadata"]["name"] for o in cluster.objects(api_version, kind, "tradestorm")}


def test_up_applies_every_object_and_waits_for_the_rollout(
    cluster: FakeCluster, kubeconfig: Path, manifests: Path
) -> None:
    target, out = make_target(kubeconfig, manifests)
    rendered = target.render()
    status = target.up(timeout_s=30)

    assert status.target == "kubernetes" and status.running and status.healthy
    services = {c.name for c in status.components if c.kind == "service"}
    assert services == PLATFORM
    db = next(c for c in status.components if c.kind == "database")
    assert db.name == "postgres" and db.replicas_ready == 1
    gateway = next(c for c in status.components if c.name == "gateway")
    assert "hpa 2..10" in gateway.detail and gateway.address == "gateway.tradestorm.svc"
    assert any(c.name == "job/migrate" and c.healthy for c in status.components)

    # every rendered object is in the cluster, written by server-side apply
    for obj in rendered:
        ns = obj["metadata"].get("namespace")
        assert cluster.get(obj["apiVersion"], obj["kind"], obj["metadata"]["name"], ns), obj
    applies = [r for r in cluster.mutations() if r.method == "PATCH"]
    assert len(applies) == len(rendered)
    assert all(r.content_type.startswith("application/apply-patch") for r in applies)
    assert all(r.q("fieldManager") == "tradestorm" and r.q("force") == "true" for r in applies)
    assert "rolled out" in out.getvalue()


def test_objects_are_applied_namespace_first_workloads_before_autoscalers(
    cluster: FakeCluster, kubeconfig: Path, manifests: Path
) -> None:
    target, _ = make_target(kubeconfig, manifests)
    target.up(timeout_s=30)
    paths = [r.path for r in cluster.mutations() if r.method == "PATCH"]
    assert paths[0].endswith("/namespaces/tradestorm")
    first = {kind: next(i for i, p in enumerate(paths) if f"/{kind}/" in p)
             for kind in ("networkpolicies", "deployments", "horizontalpodautoscalers")}
    assert first["networkpolicies"] < first["deployments"] < first["horizontalpodautoscalers"]


def test_up_twice_changes_nothing_and_keeps_what_others_own(
    cluster: FakeCluster, kubeconfig: Path, manifests: Path
) -> None:
    target, _ = make_target(kubeconfig, manifests)
    target.up(timeout_s=30)
    # the HPA scaled orders to 5; the seed Job wrote the accounts
    orders = cluster.get("apps/v1", "Deployment", "orders", "tradestorm")
    orders["spec"]["replicas"] = 5
    cluster.put(orders)
    secret = cluster.get("v1", "Secret", "locust-accounts", "tradestorm")
    secret["data"] = {"accounts.json": "eyJhY2NvdW50cyI6IFtdfQ=="}
    cluster.put(secret)
    before = {k: len(stored_names(cluster, *k)) for k in
              [("apps/v1", "Deployment"), ("v1", "Service"), ("networking.k8s.io/v1",
                                                              "NetworkPolicy")]}

    status = target.up(timeout_s=30)

    assert status.healthy
    assert cluster.get("apps/v1", "Deployment", "orders", "tradestorm")["spec"]["replicas"] == 5
    assert cluster.get("v1", "Secret", "locust-accounts", "tradestorm")["data"]
    after = {k: len(stored_names(cluster, *k)) for k in before}
    assert after == before


def test_a_finished_migration_job_is_replaced_not_patched(
    cluster: FakeCluster, kubeconfig: Path, manifests: Path
) -> None:
    target, out = make_target(kubeconfig, manifests)
    target.up(timeout_s=30)
    cluster.clear_requests()
    target.up(timeout_s=30)
    deletes = [r.path for r in cluster.mutations() if r.method == "DELETE"]
    assert any(p.endswith("/jobs/migrate") for p in deletes)
    assert "replaced finished Job tradestorm/migrate" in out.getvalue()
    assert cluster.get("batch/v1", "Job", "migrate", "tradestorm") is not None


def test_an_unlisted_context_is_refused_before_any_request(
    cluster: FakeCluster, kubeconfig: Path, manifests: Path
) -> None:
    target, _ = make_target(kubeconfig, manifests, context=FORBIDDEN)
    for call in (target.up, target.down, target.status):
        with pytest.raises(ContextNotAllowed) as exc:
            call()
        assert FORBIDDEN in str(exc.value) and ALLOWED in str(exc.value)
    assert cluster.requests == []
    assert isinstance(exc.value, KubeError) and isinstance(exc.value, TargetError)


def test_matching_is_exact_and_the_environment_allow_list_counts(
    cluster: FakeCluster, kubeconfig: Path, manifests: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target, _ = make_target(kubeconfig, manifests, allowed_contexts=["fake"])
    with pytest.raises(ContextNotAllowed):
        target.status()
    monkeypatch.setenv("TRADESTORM_ALLOWED_CONTEXTS", f"other, {ALLOWED}")
    target, _ = make_target(kubeconfig, manifests, allowed_contexts=[])
    assert target.status().running is False  # allowed now; nothing deployed yet


def test_an_empty_allow_list_refuses_everything(
    cluster: FakeCluster, kubeconfig: Path, manifests: Path
) -> None:
    target, _ = make_target(kubeconfig, manifests, allowed_contexts=[])
    with pytest.raises(ContextNotAllowed, match="allowed: none"):
        target.up()
    assert cluster.requests == []


@pytest.mark.parametrize("namespace", ["kube-system", "default"])
def test_the_clusters_own_namespaces_are_refused(
    cluster: FakeCluster, kubeconfig: Path, manifests: Path, namespace: str
) -> None:
    target, _ = make_target(kubeconfig, manifests, namespace=namespace)
    with pytest.raises(NamespaceNotAllowed):
        target.down()
    assert cluster.requests == []


def test_dry_run_prints_every_object_and_touches_nothing(
    cluster: FakeCluster, kubeconfig: Path, manifests: Path
) -> None:
    target, out = make_target(kubeconfig, manifests, dry_run=True)
    rendered = target.render()
    status = target.up()
    lines = out.getvalue().splitlines()
    applied = [line for line in lines if line.startswith("would apply ")]
    assert len(applied) == len(rendered)
    assert "would apply Deployment tradestorm/orders" in applied
    assert "would apply Namespace tradestorm" == applied[0]
    assert status.running is False

    out.truncate(0)
    out.seek(0)
    target.down()
    deleted = [line for line in out.getvalue().splitlines() if line.startswith("would delete ")]
    assert len(deleted) == len(rendered)
    assert deleted[-1] == "would delete Namespace tradestorm"
    assert cluster.requests == []  # not even a read


def test_down_removes_everything_up_created(
    cluster: FakeCluster, kubeconfig: Path, manifests: Path
) -> None:
    target, out = make_target(kubeconfig, manifests)
    rendered = target.render()
    target.up(timeout_s=30)
    cluster.clear_requests()

    target.down(timeout_s=10)

    for obj in rendered:
        ns = obj["metadata"].get("namespace")
        assert cluster.get(obj["apiVersion"], obj["kind"], obj["metadata"]["name"], ns) is None
    deletes = [r.path for r in cluster.mutations() if r.method == "DELETE"]
    assert deletes[-1].endswith("/namespaces/tradestorm")  # the namespace goes last
    assert all(r.q("propagationPolicy") == "Background"
               for r in cluster.mutations() if r.method == "DELETE")
    assert target.status().running is False
    # idempotent: a second down finds nothing and succeeds
    target.down(timeout_s=10)


def test_status_when_nothing_is_deployed(
    cluster: FakeCluster, kubeconfig: Path, manifests: Path
) -> None:
    target, _ = make_target(kubeconfig, manifests)
    status = target.status()
    assert status.running is False and status.components == []
    assert cluster.mutations() == []


def test_status_reports_an_unhealthy_service(
    cluster: FakeCluster, kubeconfig: Path, manifests: Path
) -> None:
    target, _ = make_target(kubeconfig, manifests)
    target.up(timeout_s=30)
    risk = cluster.get("apps/v1", "Deployment", "risk", "tradestorm")
    risk["status"]["availableReplicas"] = 0
    risk["status"]["readyReplicas"] = 0
    cluster.delete("apps/v1", "Deployment", "risk", "tradestorm")
    cluster.simulate_workloads = False
    cluster.put(risk)
    status = target.status()
    assert status.running and not status.healthy
    bad = [c for c in status.components if not c.healthy]
    assert [c.name for c in bad] == ["risk"] and "0/1 available" in bad[0].detail


def test_a_rollout_that_never_completes_times_out_naming_what_waits(
    kubeconfig: Path, manifests: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with FakeCluster(controllers=False) as slow:
        path = slow.write_kubeconfig(tmp_path / "slow", contexts=[ALLOWED])
        target, _ = make_target(path, manifests)
        with pytest.raises(RolloutTimeout) as exc:
            target.up(timeout_s=0.5)
    message = str(exc.value)
    assert "Deployment tradestorm/orders" in message and "Job tradestorm/migrate" in message
    assert "not ready after 0.5 s" in message


def test_a_timeout_says_why_the_pods_do_not_start(
    manifests: Path, tmp_path: Path
) -> None:
    with FakeCluster(controllers=False) as slow:
        slow.put({"apiVersion": "v1", "kind": "Pod", "metadata": {
            "name": "orders-abc", "namespace": "tradestorm",
            "labels": {"app.kubernetes.io/name": "orders"}},
            "status": {"containerStatuses": [{"name": "orders", "state": {"waiting": {
                "reason": "ImagePullBackOff",
                "message": 'Back-off pulling image "tradeplat:dev"'}}}]}})
        path = slow.write_kubeconfig(tmp_path / "slow", contexts=[ALLOWED])
        target, _ = make_target(path, manifests)
        with pytest.raises(RolloutTimeout) as exc:
            target.up(timeout_s=0.3)
    assert ('Deployment tradestorm/orders: waiting for the controller to observe the new spec '
            '[pods: orders: ImagePullBackOff (Back-off pulling image "tradeplat:dev")]'
            ) in str(exc.value)


def test_a_failed_migration_fails_the_rollout_at_once(
    kubeconfig: Path, manifests: Path, tmp_path: Path
) -> None:
    with FakeCluster(failing_jobs=("migrate",)) as fake:
        path = fake.write_kubeconfig(tmp_path / "failing", contexts=[ALLOWED])
        target, _ = make_target(path, manifests)
        with pytest.raises(RolloutFailed, match="Job tradestorm/migrate: BackoffLimitExceeded"):
            target.up(timeout_s=30)


def test_a_missing_operator_is_reported_before_anything_is_written(
    manifests: Path, tmp_path: Path
) -> None:
    from tests.fakes.kube_apiserver import DEFAULT_RESOURCES

    without_prometheus_operator = [r for r in DEFAULT_RESOURCES
                                   if r.group != "monitoring.coreos.com"]
    with FakeCluster(resources=without_prometheus_operator) as fake:
        path = fake.write_kubeconfig(tmp_path / "bare", contexts=[ALLOWED])
        target, _ = make_target(path, manifests)
        with pytest.raises(ApplyError, match="nothing was applied") as exc:
            target.up(timeout_s=5)
        for kind in ("ServiceMonitor", "PodMonitor", "PrometheusRule"):
            assert f"{kind} (monitoring.coreos.com/v1)" in str(exc.value)
        assert fake.mutations() == []


def test_the_eks_overlay_gets_images_from_the_given_registry(
    cluster: FakeCluster, kubeconfig: Path, manifests: Path
) -> None:
    registry = "registry.example.internal/tradestorm"
    target, _ = make_target(kubeconfig, manifests, overlay="eks", image_registry=registry)
    target.up(timeout_s=30)
    images = {c["image"] for d in cluster.objects("apps/v1", "Deployment", "tradestorm")
              for c in d["spec"]["template"]["spec"]["containers"]}
    assert f"{registry}/tradeplat:0.1.0" in images
    assert f"{registry}/tradestorm-loadgen:0.1.0" in images
    sts = cluster.get("apps/v1", "StatefulSet", "postgres", "tradestorm")
    assert sts["spec"]["template"]["spec"]["containers"][0]["image"] == "postgres:17.6-bookworm"
    assert cluster.get("external-secrets.io/v1", "ExternalSecret", "tradeplat-secrets",
                       "tradestorm") is not None


def test_an_unknown_overlay_names_the_known_ones(kubeconfig: Path, manifests: Path) -> None:
    target, _ = make_target(kubeconfig, manifests, overlay="gke")
    with pytest.raises(OverlayNotFound, match="eks, kind"):
        target.up()


def test_the_kind_overlay_without_secrets_env_says_how_to_fix_it(
    kubeconfig: Path, manifests: Path, tmp_path: Path
) -> None:
    import shutil

    copy = tmp_path / "k8s"
    shutil.copytree(manifests, copy)
    (copy / "overlays/kind/secrets.env").unlink()
    target, _ = make_target(kubeconfig, copy)
    with pytest.raises(RenderError, match="secrets.env.example"):
        target.up()


def test_an_overlay_for_another_namespace_is_refused(kubeconfig: Path, manifests: Path) -> None:
    target, _ = make_target(kubeconfig, manifests, namespace="trading")
    with pytest.raises(RenderError, match="renders into namespace 'tradestorm', not 'trading'"):
        target.up()


def test_a_context_missing_from_the_kubeconfig(kubeconfig: Path, manifests: Path) -> None:
    target, _ = make_target(kubeconfig, manifests, context="ghost", allowed_contexts=["ghost"])
    with pytest.raises(KubeconfigError, match="ghost"):
        target.status()


def test_an_unreachable_api_server(manifests: Path, tmp_path: Path) -> None:
    with FakeCluster() as gone:
        path = gone.write_kubeconfig(tmp_path / "gone", contexts=[ALLOWED])
    target, _ = make_target(path, manifests)  # the server is stopped now
    with pytest.raises(ApiUnavailable, match="unreachable"):
        target.status()


def test_status_shows_an_autoscaler_that_cannot_scale(
    cluster: FakeCluster, kubeconfig: Path, manifests: Path
) -> None:
    target, _ = make_target(kubeconfig, manifests)
    target.up(timeout_s=30)
    hpa = cluster.get("autoscaling/v2", "HorizontalPodAutoscaler", "analytics", "tradestorm")
    hpa["status"] = {"currentReplicas": 2, "desiredReplicas": 2, "conditions": [
        {"type": "AbleToScale", "status": "True", "reason": "ReadyForNewScale"},
        {"type": "ScalingActive", "status": "False", "reason": "FailedGetResourceMetric"}]}
    cluster.put(hpa)
    analytics = next(c for c in target.status().components if c.name == "analytics")
    assert "hpa 2..12, current 2, desired 2" in analytics.detail
    assert "NOT SCALING (FailedGetResourceMetric)" in analytics.detail
