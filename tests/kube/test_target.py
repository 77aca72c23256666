"""``KubernetesTarget`` (``tradestorm up/down/status --target kubernetes``) against the REAL
single-node cluster of tests/cluster: what a user of the target would see.

The session's ``kube_platform`` deployed the platform once (overlay ``local``); these tests
read it, apply it again, disturb it and leave it healthy for the next test. ``down`` runs
last (``cluster_last``). Nothing here is served by a fake: refusals are checked against a
live API server reachable under a context nobody allowed, rendering problems need no cluster.
"""

from __future__ import annotations

import base64
import io
import json
import re
import shutil
import socket
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from tests.cluster import kubectl
from tests.kube.conftest import (
    ALLOWED,
    FORBIDDEN,
    NS,
    PLATFORM,
    REPO,
    Connections,
    no_connection,
)
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
from tradestorm.kube.rollout import WAITED_KINDS

pytestmark = pytest.mark.timeout(900)

#: Jobs (and their pods) are replaced on every up once finished; the seed Job rewrites the
#: accounts it publishes. Everything else must be exactly as it was after a second up.
REPLACED_ON_UP = ("Job/", "Pod/migrate-", "Pod/locust-seed-accounts-")


def _resource(obj: dict[str, Any]) -> str:
    """kubectl's name of the object's kind (``deployment.apps``, ``configmap``)."""
    group = obj["apiVersion"].rpartition("/")[0]
    return f"{obj['kind'].lower()}.{group}" if group else obj["kind"].lower()


def _live_objects(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The cluster's copies of ``objects``, managed fields included (fails on a missing one)."""
    names = [f"{_resource(o)}/{o['metadata']['name']}" for o in objects]
    listed = json.loads(kubectl.run("get", *names, "-n", NS, "-o", "json",
                                    "--show-managed-fields").stdout)
    return listed["items"] if listed.get("kind") == "List" else [listed]


def _appliers(obj: dict[str, Any]) -> list[dict[str, Any]]:
    return [m for m in obj["metadata"].get("managedFields") or []
            if m["manager"] == "tradestorm" and m["operation"] == "Apply"]


def _describe(obj: dict[str, Any]) -> str:
    ns = obj["metadata"].get("namespace")
    return f"{obj['kind']} {ns + '/' if ns else ''}{obj['metadata']['name']}"


# ---------------------------------------------------------------------- what up did


def test_up_rolled_out_every_workload_and_status_reports_it(platform: Any) -> None:
    target = platform.target(out=io.StringIO())
    waited = [o for o in target.render() if o["kind"] in WAITED_KINDS]
    assert f"rolled out: {len(waited)} workloads ready" in platform.up_output

    status = target.status()
    assert status.target == "kubernetes" and status.running and status.healthy, status
    assert {c.name for c in status.components if c.kind == "service"} == PLATFORM
    db = next(c for c in status.components if c.kind == "database")
    assert db.name == "postgres" and db.replicas_ready == 1
    assert db.address == "postgres.tradestorm.svc"
    gateway = next(c for c in status.components if c.name == "gateway")
    assert gateway.address == "gateway.tradestorm.svc" and "hpa 2..3" in gateway.detail
    assert gateway.replicas_ready == gateway.replicas_desired == 2  # the HPA's minimum
    migrate = next(c for c in status.components if c.name == "job/migrate")
    assert migrate.healthy and migrate.detail == "complete"

    # the cluster's own view agrees: every Deployment available, the migration Job complete;
    # the load's templates (locust-master, locust-worker) stay at zero replicas
    deployments = {d["metadata"]["name"]: d
                   for d in platform.cluster.items("deployments", "-n", NS)}
    templates = {"locust-master", "locust-worker"}
    assert templates < set(deployments)
    for name, dep in deployments.items():
        available = dep["status"].get("availableReplicas", 0)  # absent at zero replicas
        if name in templates:
            assert dep["spec"]["replicas"] == available == 0, dep
        else:
            assert available == dep["spec"]["replicas"] >= 1, dep["status"]
    job = platform.cluster.get("job", "migrate", "-n", NS)
    assert any(c["type"] == "Complete" and c["status"] == "True"
               for c in job["status"]["conditions"])


def test_every_object_was_applied_server_side_namespace_first(platform: Any) -> None:
    rendered = platform.target(out=io.StringIO()).render()
    live = _live_objects(rendered)
    assert sorted(map(_describe, live)) == sorted(map(_describe, rendered))
    not_applied = [_describe(o) for o in live if not _appliers(o)]
    assert not_applied == [], "not written by server-side apply (field manager tradestorm)"

    applied = [line.removeprefix("applied ") for line in platform.up_output.splitlines()
               if line.startswith("applied ")]
    assert applied == [_describe(o) for o in rendered]  # one apply per object, in install order
    assert applied[0] == "Namespace tradestorm"
    first = {kind: next(i for i, line in enumerate(applied) if line.startswith(kind + " "))
             for kind in ("NetworkPolicy", "Deployment", "HorizontalPodAutoscaler")}
    assert first["NetworkPolicy"] < first["Deployment"] < first["HorizontalPodAutoscaler"]


def test_every_autoscaler_shows_a_current_cpu_value(platform: Any) -> None:
    cluster = platform.cluster

    def blind() -> str | None:
        hpas = cluster.items("hpa", "-n", NS)
        without = [h["metadata"]["name"] for h in hpas
                   if not any((m.get("resource") or {}).get("name") == "cpu"
                              and (m["resource"].get("current") or {}).get("averageUtilization")
                              is not None for m in h["status"].get("currentMetrics") or [])]
        return None if len(hpas) == len(PLATFORM) and not without else f"no CPU value: {without}"

    cluster.wait_until("every HPA showing its CPU utilisation", blind, timeout_s=180, interval_s=3)
    table = cluster.kubectl("get", "hpa", "-n", NS, "--no-headers").splitlines()
    assert len(table) == len(PLATFORM) and "<unknown>" not in "\n".join(table)
    assert all(re.search(r"cpu: \d+%/\d+%", line) for line in table), table

    for component in platform.target(out=io.StringIO()).status().components:
        if component.kind == "service":
            assert re.search(r"; hpa \d+\.\.\d+, current \d+, desired \d+, cpu \d+%",
                             component.detail), component
            assert "NOT SCALING" not in component.detail


def test_prometheus_scrapes_every_replica_the_monitors_select(platform: Any) -> None:
    cluster = platform.cluster
    monitors = cluster.items("servicemonitors.monitoring.coreos.com,"
                             "podmonitors.monitoring.coreos.com", "-n", NS)
    pools = {f"{m['kind'][0].lower()}{m['kind'][1:]}/{NS}/{m['metadata']['name']}/{i}"
             for m in monitors
             for i, _ in enumerate(m["spec"].get("endpoints")
                                   or m["spec"].get("podMetricsEndpoints"))}
    assert pools == {f"serviceMonitor/{NS}/tradeplat/0", f"serviceMonitor/{NS}/postgres/0",
                     f"podMonitor/{NS}/locust-worker/0"}

    def running(selector: str) -> set[str]:
        return {p["metadata"]["name"] for p in cluster.items("pods", "-n", NS, "-l", selector)
                if p["status"].get("phase") == "Running"
                and not p["metadata"].get("deletionTimestamp")}

    def not_scraped() -> str | None:
        expected = {
            f"serviceMonitor/{NS}/tradeplat/0":
                running(f"app.kubernetes.io/name in ({','.join(sorted(PLATFORM))})"),
            f"serviceMonitor/{NS}/postgres/0": running("app.kubernetes.io/name=postgres"),
            f"podMonitor/{NS}/locust-worker/0": running("app.kubernetes.io/name=locust-worker"),
        }
        targets = [t for t in cluster.prometheus_targets() if t["labels"].get("namespace") == NS]
        problems = []
        for pool, pods in expected.items():
            found = {t["labels"].get("pod"): t["health"] for t in targets
                     if t["scrapePool"] == pool}
            # the load generator has pods only while a run lasts: then they are scraped too
            if set(found) != pods or (pods and set(found.values()) != {"up"}):
                problems.append(f"{pool}: targets {found}, running pods {sorted(pods)}")
        return "; ".join(problems) or None

    cluster.wait_until("Prometheus scraping every replica of namespace tradestorm", not_scraped,
                       timeout_s=180, interval_s=3)
    up = cluster.prometheus_query(f'up{{namespace="{NS}"}}')
    assert up and {s["value"][1] for s in up} == {"1"}


def test_the_alert_rules_find_the_kube_state_metrics_series_they_read(platform: Any) -> None:
    """The platform's PrometheusRule reads kube-state-metrics' series of its Deployments, HPAs,
    Jobs and CronJob: they are there (kube-state-metrics keeps running next to the CronJob)."""
    cluster = platform.cluster
    deployments = {d["metadata"]["name"] for d in cluster.items("deployments", "-n", NS)}

    def missing() -> str | None:
        replicas = {s["metric"]["deployment"] for s in cluster.prometheus_query(
            f'kube_deployment_spec_replicas{{namespace="{NS}"}}')}
        cronjob = cluster.prometheus_query(
            f'kube_cronjob_info{{namespace="{NS}", cronjob="postgres-backup"}}')
        hpas = cluster.prometheus_query(
            f'kube_horizontalpodautoscaler_spec_max_replicas{{namespace="{NS}"}}')
        if replicas == deployments and cronjob and len(hpas) == len(PLATFORM):
            return None
        return f"deployments {sorted(replicas)}, cronjob {len(cronjob)}, hpas {len(hpas)}"

    cluster.wait_until("kube-state-metrics' series of namespace tradestorm", missing,
                       timeout_s=180, interval_s=3)


def test_pod_security_restricted_is_enforced_on_the_namespace(platform: Any) -> None:
    def pod(name: str, **security: Any) -> str:
        return json.dumps({"apiVersion": "v1", "kind": "Pod",
                           "metadata": {"name": name, "namespace": NS},
                           "spec": {"restartPolicy": "Never", "containers": [{
                               "name": "c", "image": "tradeplat:dev", "imagePullPolicy": "Never",
                               "command": ["true"], "securityContext": security}]}})

    refused = kubectl.run("create", "-f", "-", input=pod("ts-test-privileged", privileged=True),
                          check=False)
    assert refused.returncode != 0
    assert 'violates PodSecurity "restricted:latest"' in refused.stderr, refused.stderr
    assert "privileged" in refused.stderr
    assert not platform.cluster.exists("pod", "ts-test-privileged", "-n", NS)
    # the same pod, restricted-compliant, would be admitted (server-side dry run: not created)
    compliant = pod("ts-test-compliant", privileged=False, allowPrivilegeEscalation=False,
                    runAsNonRoot=True, runAsUser=10001, capabilities={"drop": ["ALL"]},
                    seccompProfile={"type": "RuntimeDefault"})
    kubectl.run("create", "--dry-run=server", "-f", "-", input=compliant)


# ---------------------------------------------------------------------- up again


def _snapshot(platform: Any) -> SimpleNamespace:
    cluster = platform.cluster
    deployments = json.loads(kubectl.run("get", "deployments", "-n", NS, "-o", "json",
                                         "--show-managed-fields").stdout)["items"]
    return SimpleNamespace(
        prints=platform.fingerprint(),
        replicas={d["metadata"]["name"]: d["spec"]["replicas"] for d in deployments},
        deployments=deployments,
        secret=cluster.get("secret", "tradeplat-secrets", "-n", NS),
        accounts=json.loads(kubectl.run("get", "secret", "locust-accounts", "-n", NS, "-o", "json",
                                        "--show-managed-fields").stdout),
        jobs={j["metadata"]["name"]: j for j in cluster.items("jobs", "-n", NS)},
    )


@pytest.fixture(scope="module")
def up_again(kube_platform: Any) -> SimpleNamespace:
    """``up`` a second time on the deployed platform, watched: the state before and after, what
    the API server saw happen to Secrets and Deployments meanwhile, and what up printed."""
    kube_platform.wait_healthy()
    cluster = kube_platform.cluster
    before = _snapshot(kube_platform)
    out = io.StringIO()
    with cluster.watch(f"/api/v1/namespaces/{NS}/secrets") as secrets, \
            cluster.watch(f"/apis/apps/v1/namespaces/{NS}/deployments") as deployments:
        status = kube_platform.target(out=out).up(timeout_s=600)
    return SimpleNamespace(before=before, after=_snapshot(kube_platform), status=status,
                           out=out.getvalue(), secrets=secrets, deployments=deployments)


def test_up_twice_changes_nothing_and_keeps_what_others_own(up_again: Any) -> None:
    before, after = up_again.before, up_again.after
    assert up_again.status.healthy
    changed = {k for k in before.prints.keys() | after.prints.keys()
               if before.prints.get(k) != after.prints.get(k)}
    assert {k for k in changed if not k.startswith(REPLACED_ON_UP)} <= {"Secret/locust-accounts"}

    # spec.replicas of the Deployments is the HPAs' (the manifests leave it out): the second
    # apply neither owns nor resets it, not even for a moment
    assert after.replicas == before.replicas
    scaled = [d for d in after.deployments if d["metadata"]["name"] in PLATFORM]
    assert {d["spec"]["replicas"] for d in scaled} == {2}  # their HPAs' minimum, not 1
    for dep in scaled:
        (applied,) = _appliers(dep)
        assert "f:replicas" not in applied["fieldsV1"].get("f:spec", {}), dep["metadata"]["name"]
    reset = [(d["metadata"]["name"], d["spec"]["replicas"]) for d in up_again.deployments.of()
             if d["spec"]["replicas"] != before.replicas[d["metadata"]["name"]]]
    assert reset == []
    # the seed Job's accounts (its data, written by its own client) are never blanked
    assert all(s.get("data") for s in up_again.secrets.of(name="locust-accounts"))
    assert after.accounts.get("data", {}).get("accounts.json")
    (applied,) = _appliers(after.accounts)
    assert "f:data" not in applied["fieldsV1"]
    assert any("f:data" in m["fieldsV1"] for m in after.accounts["metadata"]["managedFields"]
               if m["manager"] != "tradestorm")


def test_a_finished_migration_job_is_replaced_not_patched(up_again: Any) -> None:
    old, new = up_again.before.jobs["migrate"], up_again.after.jobs["migrate"]
    assert "replaced finished Job tradestorm/migrate" in up_again.out
    assert new["metadata"]["uid"] != old["metadata"]["uid"]
    assert any(c["type"] == "Complete" and c["status"] == "True"
               for c in new["status"]["conditions"])
    assert new["metadata"]["creationTimestamp"] >= old["status"]["completionTime"]


def test_the_generated_secret_is_created_once_and_kept(up_again: Any) -> None:
    """The values ``tradestorm.io/generate-keys`` asks for were generated on the first up and
    survive the second: the same Secret, the same values, not even rewritten, and the new
    migration Job logged into PostgreSQL (initialised with that password) and completed."""
    before, after = up_again.before.secret, up_again.after.secret
    assert after["metadata"]["uid"] == before["metadata"]["uid"]
    assert after["data"] == before["data"]
    assert set(after["data"]) == {"POSTGRES_PASSWORD", "TRADEPLAT_ADMIN_KEY"}
    for value in after["data"].values():
        assert re.fullmatch(r"[0-9a-f]{64}", base64.b64decode(value).decode())
    assert up_again.secrets.types(name="tradeplat-secrets") == []
    assert next(c for c in up_again.status.components if c.name == "job/migrate").healthy


def test_dry_run_prints_every_object_and_touches_nothing(platform: Any) -> None:
    before = platform.fingerprint()
    out = io.StringIO()
    target = platform.target(dry_run=True, out=out, connect=no_connection)
    rendered = target.render()
    status = target.up()
    applied = [line for line in out.getvalue().splitlines() if line.startswith("would apply ")]
    assert applied == [f"would apply {_describe(o)}" for o in rendered]
    assert applied[0] == "would apply Namespace tradestorm"
    assert "would apply Deployment tradestorm/orders" in applied
    assert status.running is False

    out.truncate(0)
    out.seek(0)
    target.down()
    deleted = [line for line in out.getvalue().splitlines() if line.startswith("would delete ")]
    assert len(deleted) == len(rendered) and deleted[-1] == "would delete Namespace tradestorm"
    assert platform.fingerprint() == before


# ---------------------------------------------------------------------- allow-lists


def test_an_unlisted_context_is_refused_before_any_request(
    platform: Any, kubeconfig: Path, connections: Connections
) -> None:
    """``prod-eu`` reaches the very API server the platform runs on: a refusal that let the
    call through would really read, re-apply or delete it."""
    before = platform.fingerprint()
    target = platform.target(context=FORBIDDEN, kubeconfig=kubeconfig, connect=connections)
    for call in (target.status, target.up, target.down):
        with pytest.raises(ContextNotAllowed) as exc:
            call()
        assert FORBIDDEN in str(exc.value) and ALLOWED in str(exc.value)
    assert isinstance(exc.value, KubeError) and isinstance(exc.value, TargetError)
    assert connections.contexts == []
    assert platform.fingerprint() == before


def test_matching_is_exact_and_the_environment_allow_list_counts(
    platform: Any, monkeypatch: pytest.MonkeyPatch, connections: Connections
) -> None:
    prefix = platform.target(allowed_contexts=["tradestorm"], connect=connections)
    with pytest.raises(ContextNotAllowed):
        prefix.status()
    assert connections.contexts == []
    monkeypatch.setenv("TRADESTORM_ALLOWED_CONTEXTS", f"other, {ALLOWED}")
    status = platform.target(allowed_contexts=[], connect=connections).status()
    assert status.running and status.healthy
    assert connections.contexts == [ALLOWED]


def test_an_empty_allow_list_refuses_everything(platform: Any, connections: Connections) -> None:
    before = platform.fingerprint()
    target = platform.target(allowed_contexts=[], connect=connections)
    for call in (target.up, target.down):
        with pytest.raises(ContextNotAllowed, match="allowed: none"):
            call()
    assert connections.contexts == []
    assert platform.fingerprint() == before


@pytest.mark.parametrize("namespace", ["kube-system", "default"])
def test_the_clusters_own_namespaces_are_refused(
    platform: Any, connections: Connections, namespace: str
) -> None:
    before = platform.fingerprint(namespace)
    with pytest.raises(NamespaceNotAllowed, match=namespace):
        platform.target(namespace=namespace, connect=connections).down()
    assert connections.contexts == []
    assert platform.fingerprint(namespace) == before


# ---------------------------------------------------------------------- when pods cannot run


def test_pods_that_cannot_start_show_in_status_and_in_the_rollout_timeout(platform: Any) -> None:
    """The node cordoned and both risk pods deleted: their replacements stay Pending. status
    names risk as the one unhealthy service; an up times out naming every workload it still
    waits for and why their pods do not start."""
    cluster = platform.cluster
    target = platform.target(out=io.StringIO())
    with platform.node_cordoned():
        old = [p["metadata"]["name"] for p in platform.pods("risk")]
        cluster.kubectl("delete", "pod", *old, "-n", NS, "--grace-period=0", "--force")

        def risk_pending() -> str | None:
            dep = cluster.get("deployment", "risk", "-n", NS)
            pods = platform.pods("risk")
            phases = sorted(p["status"].get("phase", "?") for p in pods)
            done = not dep["status"].get("readyReplicas") and phases == ["Pending", "Pending"]
            return None if done else f"ready {dep['status'].get('readyReplicas')}, pods {phases}"

        cluster.wait_until("both risk replicas pending", risk_pending, timeout_s=60)
        status = target.status()
        assert status.running and not status.healthy
        bad = [c for c in status.components if not c.healthy]
        assert [c.name for c in bad] == ["risk"]
        assert bad[0].replicas_ready == 0 and bad[0].detail.startswith("0/2 available"), bad[0]

        started = time.monotonic()
        with pytest.raises(RolloutTimeout) as exc:
            target.up(timeout_s=10)
        assert time.monotonic() - started < 120
    message = str(exc.value)
    assert "not ready after 10 s: " in message
    unschedulable = "[pods: unschedulable: 0/1 nodes are available: 1 node(s) were unschedulable"
    assert f"Deployment tradestorm/risk: 0/2 available, 2 updated {unschedulable}" in message
    # a finished Job is replaced on up: the new migration's pod cannot start either
    assert f"Job tradestorm/migrate: 0/1 succeeded, 1 running, 0 failed attempts {unschedulable}" \
        in message
    assert "Deployment tradestorm/orders" not in message  # only what waits is named


def test_status_shows_an_autoscaler_that_cannot_scale(platform: Any) -> None:
    """Someone scaled analytics to zero: its HPA stops acting (ScalingActive False,
    ScalingDisabled) and status says so, next to the service it leaves unhealthy."""
    cluster = platform.cluster
    target = platform.target(out=io.StringIO())

    def hpa_condition(status: str) -> Any:
        def check() -> str | None:
            hpa = cluster.get("hpa", "analytics", "-n", NS)
            active = next((c for c in hpa["status"].get("conditions", [])
                           if c["type"] == "ScalingActive"), {})
            return None if active.get("status") == status else \
                f"ScalingActive {active.get('status')} ({active.get('reason')})"
        return check

    cluster.kubectl("scale", "deployment/analytics", "-n", NS, "--replicas=0")
    try:
        cluster.wait_until("the analytics HPA disabled", hpa_condition("False"), timeout_s=90)
        analytics = next(c for c in target.status().components if c.name == "analytics")
        assert not analytics.healthy and analytics.replicas_desired == 0
        assert "hpa 2..6, current 0, desired 0" in analytics.detail, analytics.detail
        assert "NOT SCALING (ScalingDisabled)" in analytics.detail
    finally:
        cluster.kubectl("scale", "deployment/analytics", "-n", NS, "--replicas=2")
        cluster.wait_until("the analytics HPA active again", hpa_condition("True"), timeout_s=90)
        platform.wait_healthy()
    analytics = next(c for c in target.status().components if c.name == "analytics")
    assert analytics.healthy and "NOT SCALING" not in analytics.detail


def test_a_failed_migration_fails_the_rollout_at_once(platform: Any, tmp_path: Path) -> None:
    """An overlay whose migration exits 2 (an unknown command, no retry): up stops as soon as
    the Job has failed, not at its timeout. Then the good overlay replaces the failed Job."""
    tree = tmp_path / "k8s"
    shutil.copytree(REPO / "k8s", tree, ignore=shutil.ignore_patterns("secrets.env"))
    kustomization = tree / "overlays/local/kustomization.yaml"
    doc = yaml.safe_load(kustomization.read_text())
    doc["patches"].append({"target": {"kind": "Job", "name": "migrate"}, "patch": yaml.safe_dump([
        {"op": "replace", "path": "/spec/backoffLimit", "value": 0},
        {"op": "replace", "path": "/spec/template/spec/restartPolicy", "value": "Never"},
        {"op": "replace", "path": "/spec/template/spec/containers/0/args",
         "value": ["no-such-command"]}])})
    kustomization.write_text(yaml.safe_dump(doc, sort_keys=False))

    restored = io.StringIO()
    try:
        started = time.monotonic()
        with pytest.raises(RolloutFailed) as exc:
            platform.target(manifests_dir=tree, out=io.StringIO()).up(timeout_s=600)
        assert time.monotonic() - started < 180  # at once: not the 600 s of the timeout
        assert re.match(r"Job tradestorm/migrate: BackoffLimitExceeded: Job has reached the "
                        r"specified backoff limit", str(exc.value)), str(exc.value)
        job = platform.cluster.get("job", "migrate", "-n", NS)
        assert job["spec"]["template"]["spec"]["containers"][0]["args"] == ["no-such-command"]
    finally:
        platform.target(out=restored).up(timeout_s=600)
    assert "replaced finished Job tradestorm/migrate" in restored.getvalue()
    job = platform.cluster.get("job", "migrate", "-n", NS)
    assert job["spec"]["template"]["spec"]["containers"][0]["args"] == ["migrate"]


def test_a_cluster_without_an_operator_the_overlay_needs_is_refused_before_any_write(
    platform: Any, connections: Connections
) -> None:
    """The eks overlay needs the External Secrets operator, which this cluster does not run:
    up says what is missing and writes nothing (the deployed platform stays as it is)."""
    before = platform.fingerprint()
    target = platform.target(overlay="eks", connect=connections, out=io.StringIO())
    with pytest.raises(ApplyError, match="nothing was applied") as exc:
        target.up(timeout_s=30)
    assert f"the cluster of context '{ALLOWED}' does not serve ExternalSecret " \
           "(external-secrets.io/v1); install the operators first" in str(exc.value)
    for served in ("ServiceMonitor", "PodMonitor", "PrometheusRule", "Deployment", "Ingress"):
        assert f" {served} (" not in str(exc.value)
    assert connections.contexts == [ALLOWED]  # it asked the API server what it serves
    assert platform.fingerprint() == before


# ---------------------------------------------------------------------- no cluster needed


def test_the_eks_overlay_gets_images_from_the_given_registry() -> None:
    registry = "registry.example.internal/tradestorm"
    from tradestorm.kube.target import KubernetesTarget

    target = KubernetesTarget(ALLOWED, overlay="eks", allowed_contexts=[ALLOWED],
                              image_registry=registry, connect=no_connection)
    objects = target.render()
    images = {c["image"] for o in objects if o["kind"] == "Deployment"
              for c in o["spec"]["template"]["spec"]["containers"]}
    assert f"{registry}/tradeplat:0.1.0" in images
    assert f"{registry}/tradestorm-loadgen:0.1.0" in images
    sts = next(o for o in objects if o["kind"] == "StatefulSet")
    assert sts["spec"]["template"]["spec"]["containers"][0]["image"] == "postgres:17.6-bookworm"
    assert any(o["kind"] == "ExternalSecret" and o["metadata"]["name"] == "tradeplat-secrets"
               for o in objects)


def _offline_target(manifests: Path, **kwargs: Any) -> Any:
    from tradestorm.kube.target import KubernetesTarget

    options: dict[str, Any] = {"overlay": "kind", "allowed_contexts": [ALLOWED],
                               "manifests_dir": manifests, "connect": no_connection,
                               "out": io.StringIO()}
    options.update(kwargs)
    return KubernetesTarget(ALLOWED, **options)


def test_an_unknown_overlay_names_the_known_ones(manifests: Path) -> None:
    with pytest.raises(OverlayNotFound, match="eks, kind, local"):
        _offline_target(manifests, overlay="gke").up()


def test_an_overlay_naming_a_file_that_is_not_there_says_which(
    manifests: Path, tmp_path: Path
) -> None:
    # the kind overlay needs no hand-made file any more (its secrets are generated at up);
    # an overlay that does name a missing one is refused before anything is applied
    copy = tmp_path / "k8s"
    shutil.copytree(manifests, copy)
    kustomization = copy / "overlays/kind/kustomization.yaml"
    kustomization.write_text(kustomization.read_text() + "secretGenerator:\n  - name: extra\n"
                             "    envs: [not-there.env]\n")
    with pytest.raises(RenderError, match="not-there.env"):
        _offline_target(copy).up()


def test_an_overlay_for_another_namespace_is_refused(manifests: Path) -> None:
    with pytest.raises(RenderError, match="renders into namespace 'tradestorm', not 'trading'"):
        _offline_target(manifests, namespace="trading").up()


def test_a_context_missing_from_the_kubeconfig(kube_cluster: Any) -> None:
    from tradestorm.kube.target import KubernetesTarget

    target = KubernetesTarget("ghost", overlay="local", allowed_contexts=["ghost"],
                              kubeconfig=kube_cluster.kubeconfig)
    with pytest.raises(KubeconfigError, match="ghost"):
        target.status()


def test_an_unreachable_api_server(kube_cluster: Any, tmp_path: Path) -> None:
    """The cluster's kubeconfig, its server moved to a port where nothing listens."""
    with socket.socket() as bound:  # bound, never listening: a connection is refused at once
        bound.bind(("127.0.0.1", 0))
        server = f"https://127.0.0.1:{bound.getsockname()[1]}"
        path = kube_cluster.write_kubeconfig(tmp_path / "gone", server=server)
        from tradestorm.kube.target import KubernetesTarget

        target = KubernetesTarget(ALLOWED, overlay="local", allowed_contexts=[ALLOWED],
                                  kubeconfig=path)
        with pytest.raises(ApiUnavailable, match="unreachable") as exc:
            target.status()
    assert server.removeprefix("https://") in str(exc.value)


# ---------------------------------------------------------------------- down (last)


@pytest.mark.cluster_last
def test_down_removes_everything_up_created(
    kube_platform: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tradestorm.kube.client import KubeConnection
    from tradestorm.kube.lever import ConfigMapLever

    cluster = kube_platform.cluster
    out = io.StringIO()
    target = kube_platform.target(out=out)
    rendered = target.render()
    assert kube_platform.deployed()
    # an engaged safety lever outlives down: its namespace is kept, everything else goes
    lever = ConfigMapLever(KubeConnection(ALLOWED, cluster.kubeconfig), NS)
    lever.engage("sre-on-call", "market incident")

    target.down(timeout_s=300)

    deleted = [line.removeprefix("deleted ") for line in out.getvalue().splitlines()
               if line.startswith("deleted ")]
    assert sorted(deleted) == sorted(d for d in map(_describe, rendered)
                                     if d != "Namespace tradestorm")
    assert "kept Namespace tradestorm: the safety lever is ENGAGED" in out.getvalue()
    assert cluster.exists("namespace", NS) and lever.read().engaged
    assert lever.read().reason == "market incident"
    assert target.status().running is False
    lever.release("sre-on-call")
    out.seek(0)
    out.truncate()

    target.down(timeout_s=300)  # released: the namespace goes, the lever with it

    deleted = [line.removeprefix("deleted ") for line in out.getvalue().splitlines()
               if line.startswith("deleted ")]
    assert deleted == ["Namespace tradestorm"]  # the rest went the first time
    assert not cluster.exists("namespace", NS)
    for obj in rendered:
        if not obj["metadata"].get("namespace"):  # cluster-scoped: deleted one by one
            assert not cluster.exists(_resource(obj), obj["metadata"]["name"]), _describe(obj)
    # the database's volume claims went with it: their volumes are released
    assert cluster.items("pvc", "-n", NS) == []
    assert not [pv for pv in cluster.items("pv") if pv["status"]["phase"] == "Bound"
                and pv["spec"]["claimRef"]["namespace"] == NS]

    status = target.status()
    assert status.running is False and status.components == []
    target.down(timeout_s=60)  # idempotent: nothing left, nothing to do
    assert "deleted " not in out.getvalue().split("Namespace tradestorm", 1)[1]

    from tradestorm.cli import cli

    monkeypatch.setenv("KUBECONFIG", str(cluster.kubeconfig))
    options = ["--target", "kubernetes", "--context", ALLOWED, "--allow-context", ALLOWED,
               "--overlay", "local"]
    shown = CliRunner().invoke(cli, ["status", *options])
    assert shown.exit_code == 3, shown.output
    assert "no kubernetes target is running" in shown.output
    again = CliRunner().invoke(cli, ["down", *options])
    assert again.exit_code == 0, again.output
