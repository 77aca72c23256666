"""The Kubernetes driver, end to end through Chaos Toolkit, against the REAL cluster of
tests/cluster and the platform the session deployed on it (``kube_platform``).

What each fault really did is read from the API server: its watch of the objects involved
(what was created, scaled, evicted, deleted, in order) and the state afterwards. Every test
that disturbs the platform leaves it healthy for the next (the runs' own rollbacks, then a
wait until every workload is back at its replicas, ready).

What this cluster cannot show, and the tests say so where it matters: no Chaos Mesh
controller runs (its CRDs are installed: the driver's NetworkChaos/StressChaos objects are
validated and stored by the real API server, but nothing delays, drops or burns anything),
and there is one node (a drain cannot reschedule anything). Two tests stay on the FAKE API
server of tests/fakes, each for a reason given in its docstring.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from chaos_test_helpers import (
    ALLOWED,
    CHAOS_MESH,
    FAKE_CONTEXT,
    FORBIDDEN,
    NS,
    chaos_mesh_objects,
    replicas_in_order,
    write_experiment,
)
from tradestorm_chaos.errors import (
    ContextNotAllowed,
    NamespaceNotAllowed,
    UnsupportedOnTarget,
)
from tradestorm_chaos.execution import run_experiment

pytestmark = pytest.mark.timeout(900)

PODS = f"/api/v1/namespaces/{NS}/pods"
DEPLOYMENTS = f"/apis/apps/v1/namespaces/{NS}/deployments"
MANAGED = {"app.kubernetes.io/managed-by": "tradestorm-chaos"}


@pytest.fixture(autouse=True)
def _clean_allow_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TRADESTORM_ALLOWED_CONTEXTS", raising=False)
    monkeypatch.delenv("TRADESTORM_ALLOWED_NAMESPACES", raising=False)


def run_k8s(path: Path, platform: Any, tmp_path: Path, *, context: str = ALLOWED,
            kubeconfig: Path | None = None, allowed: tuple[str, ...] = (ALLOWED,),
            namespaces: tuple[str, ...] = (NS,), dry_run: bool = False,
            say: Any = None, **config: Any) -> Any:
    configuration = platform.chaos_configuration(kubernetes_context=context,
                                                 tradestorm_residue_timeout_s=120, **config)
    if kubeconfig is not None:
        configuration["kubernetes_kubeconfig"] = str(kubeconfig)
    return run_experiment(
        path, target="kubernetes", configuration=configuration,
        journal_path=tmp_path / "out" / "chaos-journal.json",
        residue_path=tmp_path / "out" / "residue.json", dry_run=dry_run,
        allowed_contexts=allowed, allowed_namespaces=namespaces,
        say=say or (lambda _line: None))


def journal(tmp_path: Path) -> dict[str, Any]:
    return json.loads((tmp_path / "out" / "chaos-journal.json").read_text())


def ready(pod: dict[str, Any]) -> bool:
    return pod["status"].get("phase") == "Running" and any(
        c["type"] == "Ready" and c["status"] == "True" for c in pod["status"].get("conditions", []))


# ---------------------------------------------------------------------- safety


def test_an_unlisted_context_is_refused_before_any_request_that_changes_anything(
        platform: Any, prod_kubeconfig: Path, repo_experiments: Path, tmp_path: Path) -> None:
    """``prod-eu`` is the very cluster the platform runs on: had the run gone on, an orders
    pod would really have been killed."""
    before = platform.fingerprint()
    with pytest.raises(ContextNotAllowed, match=FORBIDDEN):
        run_k8s(repo_experiments / "pod-kill-orders.yaml", platform, tmp_path,
                context=FORBIDDEN, kubeconfig=prod_kubeconfig)
    assert platform.fingerprint() == before
    assert not (tmp_path / "out" / "chaos-journal.json").exists()


def test_the_kubeconfig_current_context_is_not_allowed_implicitly(
        platform: Any, prod_kubeconfig: Path, repo_experiments: Path, tmp_path: Path) -> None:
    before = platform.fingerprint()
    config = platform.chaos_configuration(kubernetes_kubeconfig=str(prod_kubeconfig))
    del config["kubernetes_context"]  # the kubeconfig's current context is prod-eu
    with pytest.raises(ContextNotAllowed, match=FORBIDDEN):
        run_experiment(repo_experiments / "pod-kill-orders.yaml", target="kubernetes",
                       configuration=config, journal_path=tmp_path / "j.json",
                       residue_path=tmp_path / "r.json", allowed_contexts=(ALLOWED,),
                       allowed_namespaces=(NS,), say=lambda _l: None)
    assert platform.fingerprint() == before


def test_the_namespace_must_be_allowed_too_and_system_namespaces_never_are(
        platform: Any, repo_experiments: Path, tmp_path: Path) -> None:
    before, system = platform.fingerprint(), platform.fingerprint("kube-system")
    with pytest.raises(NamespaceNotAllowed, match=NS):
        run_k8s(repo_experiments / "pod-kill-orders.yaml", platform, tmp_path,
                namespaces=("staging",))
    with pytest.raises(NamespaceNotAllowed, match="kube-system"):
        run_k8s(repo_experiments / "pod-kill-orders.yaml", platform, tmp_path,
                namespaces=("kube-system",), kubernetes_namespace="kube-system")
    assert platform.fingerprint() == before
    assert platform.fingerprint("kube-system") == system


def test_the_cli_refuses_an_unlisted_context_with_exit_2_and_names_it(
        platform: Any, prod_kubeconfig: Path, repo_experiments: Path, tmp_path: Path) -> None:
    before = platform.fingerprint()
    env = {**os.environ, "KUBECONFIG": str(prod_kubeconfig), "TRADESTORM_ALLOWED_CONTEXTS": "",
           "TRADESTORM_ALLOWED_NAMESPACES": ""}
    proc = subprocess.run(
        [sys.executable, "-m", "tradestorm", "chaos", "run",
         str(repo_experiments / "pod-kill-orders.yaml"), "--target", "kubernetes",
         "--context", FORBIDDEN, "--allow-context", ALLOWED, "--allow-namespace", NS,
         "--results", str(tmp_path / "out")],
        env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert f"kube context '{FORBIDDEN}' is not allowed" in proc.stderr
    assert platform.fingerprint() == before


@pytest.mark.parametrize("name", ["pod-kill-orders", "risk-latency", "database-outage",
                                  "partition-marketdata", "portfolio-outage",
                                  "cpu-stress-analytics", "node-drain"])
def test_dry_run_prints_every_action_and_touches_nothing(
        name: str, platform: Any, prod_kubeconfig: Path, repo_experiments: Path,
        tmp_path: Path) -> None:
    """A dry run on a context nobody allowed: it reads the cluster to name its victims, says a
    real run would be refused, and changes nothing."""
    before = platform.fingerprint()
    lines: list[str] = []
    outcome = run_experiment(
        repo_experiments / f"{name}.yaml", target="kubernetes",
        configuration=platform.chaos_configuration(
            kubernetes_context=FORBIDDEN, kubernetes_kubeconfig=str(prod_kubeconfig),
            fault_duration_s=60),
        journal_path=tmp_path / "j.json", residue_path=tmp_path / "r.json", dry_run=True,
        say=lines.append)
    assert platform.fingerprint() == before
    assert outcome.dry_run and outcome.planned, lines
    printed = [line for line in lines if line.startswith("[dry-run] would ")]
    assert printed == [f"[dry-run] would {p}" for p in outcome.planned]
    assert any("a real run would be refused" in line for line in lines)
    assert json.loads((tmp_path / "r.json").read_text())["clean"] is False  # not audited
    if name == "node-drain":  # the real node running orders
        assert any(p.startswith(f"cordon node {platform.cluster.node} and evict its pods of "
                                f"namespace {NS}") for p in outcome.planned), outcome.planned


def test_dry_run_names_the_pods_it_would_kill(platform: Any, repo_experiments: Path,
                                             tmp_path: Path) -> None:
    before = platform.fingerprint()
    orders = [p["metadata"]["name"] for p in platform.pods("orders")]
    outcome = run_k8s(repo_experiments / "pod-kill-orders.yaml", platform, tmp_path,
                      dry_run=True)
    assert platform.fingerprint() == before
    (kill,) = [p for p in outcome.planned if "terminate pod" in p]
    assert sum(name in kill for name in orders) == 1, (kill, orders)


# ---------------------------------------------------------------------- pod kill


def test_pod_kill_deletes_exactly_one_running_pod_with_no_grace_and_it_is_replaced(
        platform: Any, repo_experiments: Path, tmp_path: Path) -> None:
    """One orders pod is made Terminating first (a finalizer holds it): it is never chosen.
    Exactly the pod the run names is deleted, at once (grace period 0), and its ReplicaSet
    replaces it with a pod that runs and is ready."""
    cluster = platform.cluster
    held = platform.pods("orders")[0]["metadata"]["name"]
    cluster.kubectl("patch", "pod", held, "-n", NS, "--type=merge",
                    "-p", '{"metadata":{"finalizers":["tradestorm.test/hold"]}}')
    try:
        cluster.kubectl("delete", "pod", held, "-n", NS, "--wait=false")

        def replaced() -> str | None:
            live = [p for p in platform.pods("orders")
                    if not p["metadata"].get("deletionTimestamp")]
            return None if len(live) == 2 and all(map(ready, live)) else f"{len(live)} live"

        cluster.wait_until("orders back at 2 ready pods besides the held one", replaced,
                           timeout_s=120)
        candidates = {p["metadata"]["name"]: p["metadata"]["uid"] for p in platform.pods("orders")
                      if not p["metadata"].get("deletionTimestamp")}
        with cluster.watch(PODS, labelSelector="app.kubernetes.io/name=orders") as pods:
            outcome = run_k8s(repo_experiments / "pod-kill-orders.yaml", platform, tmp_path)
        assert outcome.status == "completed", outcome.to_dict()
        (killed,) = journal(tmp_path)["run"][0]["output"]["killed"]
        assert killed in candidates and killed != held
        assert [p["metadata"]["name"] for p in pods.of("DELETED")] == [killed]
        # grace period 0: gone in one step, never seen terminating with a grace period
        assert all(p["metadata"].get("deletionGracePeriodSeconds") in (None, 0)
                   for p in pods.of(name=killed))
        survivor = next(n for n in candidates if n != killed)
        assert cluster.get("pod", survivor, "-n", NS)["metadata"]["uid"] == candidates[survivor]
        assert cluster.get("pod", held, "-n", NS)["metadata"].get("deletionTimestamp")
        (new,) = {p["metadata"]["name"] for p in pods.of("ADDED")}
        assert ready(cluster.get("pod", new, "-n", NS))
        assert cluster.get("deployment", "orders", "-n", NS)["status"]["readyReplicas"] == 2
        assert [f["action"] for f in outcome.faults] == ["kill_replicas"]
        assert outcome.residue_clean and outcome.steady_after_rollbacks
    finally:
        cluster.kubectl("patch", "pod", held, "-n", NS, "--type=merge",
                        "-p", '{"metadata":{"finalizers":null}}', check=False)
    platform.wait_healthy()


def test_killing_more_pods_than_run_fails_the_run_instead_of_silently_killing_fewer(
        platform: Any, tmp_path: Path) -> None:
    before = platform.fingerprint()
    path = write_experiment(tmp_path, method=[{
        "type": "action", "name": "kill-three", "provider": {
            "type": "python", "module": "tradestorm_chaos.actions", "func": "kill_replicas",
            "arguments": {"service": "orders", "count": 3}}}])
    outcome = run_k8s(path, platform, tmp_path)
    assert outcome.status == "failed"
    assert any("asked to kill 3 pod(s) of orders, only 2 running" in f
               for f in outcome.failed_activities), outcome.failed_activities
    assert platform.fingerprint() == before  # no pod deleted


# ---------------------------------------------------------------------- Chaos Mesh objects


def test_latency_is_a_chaos_mesh_networkchaos_with_a_duration_removed_at_the_end(
        platform: Any, repo_experiments: Path, tmp_path: Path) -> None:
    """The NetworkChaos is created (validated against Chaos Mesh's CRD schema and stored by
    the real API server) and removed at the end. No Chaos Mesh controller runs on the test
    cluster: nothing is delayed here, what is checked is the object the controller would act
    on."""
    cluster = platform.cluster
    with cluster.watch(f"{CHAOS_MESH}/networkchaos") as chaos:
        outcome = run_k8s(repo_experiments / "risk-latency.yaml", platform, tmp_path,
                          fault_duration_s=1)
    assert outcome.status == "completed", outcome.to_dict()
    assert chaos.types() == ["ADDED", "DELETED"]
    (stored,) = chaos.of("ADDED")
    assert stored["metadata"]["namespace"] == NS and stored["metadata"]["uid"]
    assert stored["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "tradestorm-chaos"
    assert stored["spec"]["duration"] == "6s"  # the fault expires by itself if we die
    assert stored["spec"]["action"] == "delay" and stored["spec"]["mode"] == "all"
    assert stored["spec"]["selector"]["labelSelectors"] == {"app.kubernetes.io/name": "risk"}
    assert stored["spec"]["delay"] == {"latency": "200ms", "jitter": "50ms", "correlation": "0"}
    assert chaos_mesh_objects(cluster) == []
    (fault,) = outcome.faults
    assert fault["action"] == "add_latency" and fault["target"] == "risk"
    assert 0.9 <= fault["end"] - fault["start"] < 5
    assert outcome.residue_clean
    assert json.loads((tmp_path / "out" / "residue.json").read_text()) == {"clean": True,
                                                                          "items": []}


def test_partition_is_a_chaos_mesh_partition_that_expires_and_is_removed(
        platform: Any, repo_experiments: Path, tmp_path: Path) -> None:
    """A NetworkChaos partition, stored by the real API server and removed; no NetworkPolicy
    (the platform's allow policies would override a deny-all one). No Chaos Mesh controller
    runs here: no packet is dropped on this cluster."""
    cluster = platform.cluster
    policies_path = f"/apis/networking.k8s.io/v1/namespaces/{NS}/networkpolicies"
    with cluster.watch(f"{CHAOS_MESH}/networkchaos") as chaos, \
            cluster.watch(policies_path) as policies:
        outcome = run_k8s(repo_experiments / "partition-marketdata.yaml", platform, tmp_path,
                          fault_duration_s=1)
    assert outcome.status == "completed", outcome.to_dict()
    assert chaos.types() == ["ADDED", "DELETED"] and policies.types() == []
    (stored,) = chaos.of("ADDED")
    assert stored["spec"]["action"] == "partition" and stored["spec"]["mode"] == "all"
    assert stored["spec"]["selector"]["labelSelectors"] == {"app.kubernetes.io/name":
                                                            "marketdata"}
    assert stored["spec"]["duration"] == "6s"
    assert chaos_mesh_objects(cluster) == []
    assert outcome.residue_clean


def test_cpu_stress_without_scale_out_fails_the_run(
        platform: Any, repo_experiments: Path, tmp_path: Path) -> None:
    """The StressChaos is created and removed, but no Chaos Mesh controller runs here to burn
    CPU: the real HPA sees idle pods, does not scale out, and the run fails saying so."""
    cluster = platform.cluster
    with cluster.watch(f"{CHAOS_MESH}/stresschaos") as chaos, \
            cluster.watch(DEPLOYMENTS, fieldSelector="metadata.name=analytics") as analytics:
        outcome = run_k8s(repo_experiments / "cpu-stress-analytics.yaml", platform, tmp_path,
                          fault_duration_s=3)
    assert outcome.status == "failed"
    assert any("the HPA of analytics did not scale out above 2 replicas" in f
               for f in outcome.failed_activities), outcome.failed_activities
    assert chaos.types() == ["ADDED", "DELETED"]
    (stored,) = chaos.of("ADDED")
    assert stored["spec"]["stressors"] == {"cpu": {"workers": 2, "load": 90}}
    assert stored["spec"]["duration"] == "8s"
    assert replicas_in_order(analytics.of()) in ([], [2])
    assert outcome.residue_clean  # the stress itself was still removed


def test_cpu_stress_waits_for_the_hpa_to_scale_out(
        fake_cluster: Any, repo_experiments: Path, tmp_path: Path) -> None:
    """FAKE API server: the scale-out needs CPU really burnt in the analytics pods, i.e. a
    Chaos Mesh controller acting on the StressChaos, and the test cluster has none (its
    kernel has no sch_netem, so Chaos Mesh is not run at all). The fake plays the HPA that
    scales out once the StressChaos exists; the real cluster covers the failing case above."""
    kube = fake_cluster.kube

    def hpa_controller(event: str, obj: dict[str, Any]) -> None:
        if event == "ADDED" and obj["kind"] == "StressChaos":
            hpa = kube.get("autoscaling/v2", "HorizontalPodAutoscaler", "analytics", NS)
            hpa["status"] = {"currentReplicas": 4, "desiredReplicas": 4}
            kube.put(hpa)

    kube.on_write(hpa_controller)
    outcome = run_experiment(
        repo_experiments / "cpu-stress-analytics.yaml", target="kubernetes",
        configuration=fake_cluster.configuration(fault_duration_s=2),
        journal_path=tmp_path / "j.json", residue_path=tmp_path / "r.json",
        allowed_contexts=(FAKE_CONTEXT,),
        allowed_namespaces=(NS,), say=lambda _l: None)
    assert outcome.status == "completed", outcome.to_dict()
    assert [f["action"] for f in outcome.faults] == ["cpu_stress"]
    assert chaos_mesh_objects(kube) == []


# ---------------------------------------------------------------------- outages


def test_database_outage_scales_the_statefulset_to_zero_and_back(
        platform: Any, repo_experiments: Path, tmp_path: Path) -> None:
    cluster = platform.cluster
    old_uid = cluster.get("pod", "postgres-0", "-n", NS)["metadata"]["uid"]
    with cluster.watch(f"/apis/apps/v1/namespaces/{NS}/statefulsets",
                       fieldSelector="metadata.name=postgres") as sts, \
            cluster.watch(PODS, labelSelector="app.kubernetes.io/name=postgres") as pods:
        outcome = run_k8s(repo_experiments / "database-outage.yaml", platform, tmp_path,
                          fault_duration_s=5)
    assert outcome.status == "completed", outcome.to_dict()
    assert replicas_in_order(sts.of()) == [0, 1]
    # the database really stopped: its pod was deleted, and a new one runs now
    assert [p["metadata"]["uid"] for p in pods.of("DELETED")] == [old_uid]
    (new,) = pods.of("ADDED")
    pod = cluster.get("pod", "postgres-0", "-n", NS)
    assert pod["metadata"]["uid"] == new["metadata"]["uid"] != old_uid and ready(pod)
    assert [f["action"] for f in outcome.faults] == ["database_outage"]
    assert outcome.steady_after_rollbacks and outcome.residue_clean
    platform.wait_healthy()  # every service reconnected and is ready again


def test_service_outage_restores_at_least_the_hpa_minimum(
        platform: Any, tmp_path: Path) -> None:
    cluster = platform.cluster
    minimum = cluster.get("hpa", "analytics", "-n", NS)["spec"]["minReplicas"]
    old = {p["metadata"]["uid"] for p in platform.pods("analytics")}
    path = write_experiment(tmp_path, method=[{
        "type": "action", "name": "analytics-down", "provider": {
            "type": "python", "module": "tradestorm_chaos.actions", "func": "service_outage",
            "arguments": {"service": "analytics", "duration": 3}}}],
        rollbacks=[{"type": "action", "name": "back", "provider": {
            "type": "python", "module": "tradestorm_chaos.actions", "func": "remove_faults",
            "arguments": {"service": "analytics"}}}])
    with cluster.watch(DEPLOYMENTS, fieldSelector="metadata.name=analytics") as deployment, \
            cluster.watch(PODS, labelSelector="app.kubernetes.io/name=analytics") as pods:
        outcome = run_k8s(path, platform, tmp_path)
    assert outcome.status == "completed", outcome.to_dict()
    # scaled from 2 to 0, then back to the HPA's minimum (an HPA does not act at 0 replicas)
    assert replicas_in_order(deployment.of()) == [0, max(2, minimum)]
    stopped = {p["metadata"]["uid"] for p in pods.of() if p["metadata"].get("deletionTimestamp")}
    assert stopped == old  # really down: every pod of analytics was stopped

    def scaling_again() -> str | None:
        hpa = cluster.get("hpa", "analytics", "-n", NS)
        active = next((c for c in hpa["status"].get("conditions", [])
                       if c["type"] == "ScalingActive"), {})
        dep = cluster.get("deployment", "analytics", "-n", NS)
        if active.get("status") == "True" and dep["status"].get("readyReplicas") == max(2, minimum):
            return None
        return f"ScalingActive {active.get('status')} ({active.get('reason')}), " \
               f"ready {dep['status'].get('readyReplicas')}"

    cluster.wait_until("analytics ready and its HPA scaling again", scaling_again, timeout_s=120)
    assert outcome.residue_clean


# ---------------------------------------------------------------------- node drain


def test_node_drain_evicts_only_the_platform_namespace_within_its_pdbs_and_uncordons(
        platform: Any, repo_experiments: Path, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """One node: an evicted pod's replacement cannot be scheduled anywhere while it is
    cordoned, so after one pod of a service is gone its PodDisruptionBudget (maxUnavailable 1)
    answers 429 to the next eviction. The drain stops there instead of violating it, the run
    fails saying so, the node is uncordoned and the evicted pod comes back."""
    from tradestorm_chaos.drivers.kubernetes import drain

    monkeypatch.setattr(drain, "EVICTION_TIMEOUT_S", 10.0)  # how long a 429 is retried
    cluster = platform.cluster
    pods_before = {p["metadata"]["name"]: p for p in platform.pods()}
    system = {ns: platform.fingerprint(ns) for ns in ("kube-system", "monitoring")}
    budgets = {p["metadata"]["name"]: p["spec"]["maxUnavailable"]
               for p in cluster.items("pdb", "-n", NS)}
    with cluster.watch("/api/v1/nodes", fieldSelector=f"metadata.name={cluster.node}") as node, \
            cluster.watch(PODS) as pods:
        outcome = run_k8s(repo_experiments / "node-drain.yaml", platform, tmp_path,
                          fault_duration_s=5)

    cordons = [bool(n["spec"].get("unschedulable")) for n in node.of()]
    # the node's own status updates before the drain show it schedulable: start at the cordon
    assert True in cordons, cordons
    cordons = cordons[cordons.index(True):]
    assert cordons[-1] is False
    assert [c for i, c in enumerate(cordons) if i == 0 or c != cordons[i - 1]] == [True, False]
    assert not cluster.get("node", cluster.node)["spec"].get("unschedulable")

    evicted = list(dict.fromkeys(p["metadata"]["name"] for p in pods.of()
                                 if p["metadata"].get("deletionTimestamp")))
    assert evicted and set(evicted) <= set(pods_before)  # only pods of the namespace
    per_service: dict[str, int] = {}
    for name in evicted:
        service = pods_before[name]["metadata"]["labels"]["app.kubernetes.io/name"]
        per_service[service] = per_service.get(service, 0) + 1
    assert all(count <= budgets.get(service, count) for service, count in per_service.items())
    (refusal,) = [f for f in outcome.failed_activities if "evicting" in f]
    refused = re.search(r"evicting (\S+): 429", refusal)
    assert refused, refusal
    assert refused.group(1) in pods_before and refused.group(1) not in evicted
    assert cluster.get("pod", refused.group(1), "-n", NS)["metadata"]["uid"] == \
        pods_before[refused.group(1)]["metadata"]["uid"]  # the PDB kept it running
    assert outcome.status == "failed"
    assert {ns: platform.fingerprint(ns) for ns in system} == system  # never touched

    # after the rollbacks: uncordoned, the evicted pods replaced and ready, nothing left
    assert outcome.steady_after_rollbacks and outcome.residue_clean
    platform.wait_healthy()


# ---------------------------------------------------------------------- residue, probes, clean


def test_a_fault_that_cannot_be_removed_is_residue_and_fails_the_run(
        fake_cluster: Any, repo_experiments: Path, tmp_path: Path) -> None:
    """FAKE API server: a real API server does not refuse a DELETE with 500 on demand. Every
    removal of the NetworkChaos (the action's, the rollback's, the sweep's) fails: the fault
    is residue and the run fails."""
    for _ in range(4):
        fake_cluster.kube.fail_next("DELETE", r"/networkchaos/", 500, "etcd is sad")
    outcome = run_experiment(
        repo_experiments / "risk-latency.yaml", target="kubernetes",
        configuration=fake_cluster.configuration(fault_duration_s=1),
        journal_path=tmp_path / "out" / "j.json", residue_path=tmp_path / "out" / "residue.json",
        allowed_contexts=(FAKE_CONTEXT,),
        allowed_namespaces=(NS,), say=lambda _l: None)
    assert outcome.status == "failed"
    assert not outcome.residue_clean
    residue = json.loads((tmp_path / "out" / "residue.json").read_text())
    assert residue["clean"] is False
    assert [i["kind"] for i in residue["items"]] == ["chaos_mesh_object"]


def test_a_kubernetes_only_experiment_is_refused_on_local_before_anything(
        repo_experiments: Path, tmp_path: Path) -> None:
    with pytest.raises(UnsupportedOnTarget, match="kubernetes only"):
        run_experiment(repo_experiments / "node-drain.yaml", target="local",
                       journal_path=tmp_path / "j.json", residue_path=tmp_path / "r.json",
                       state_dir=tmp_path / "nothing-runs-here")


def test_readiness_probes_are_false_not_an_error_when_no_replica_is_available(
        platform: Any) -> None:
    """Both risk pods deleted while the node is cordoned: their replacements stay Pending,
    the Deployment has no ready replica (``readyReplicas`` absent)."""
    from tradestorm_chaos import probes
    from tradestorm_chaos.session import end_session, new_session

    cluster = platform.cluster
    conf = {**platform.chaos_configuration(), "tradestorm_target": "kubernetes"}
    with platform.node_cordoned():
        old = [p["metadata"]["name"] for p in platform.pods("risk")]
        cluster.kubectl("delete", "pod", *old, "-n", NS, "--grace-period=0", "--force")
        cluster.wait_until("risk without a ready replica", lambda: None if "readyReplicas" not in
                           cluster.get("deployment", "risk", "-n", NS)["status"] else "ready",
                           timeout_s=60)
        session = new_session(allowed_contexts_=(ALLOWED,), allowed_namespaces_=(NS,))
        try:
            assert probes.replicas_ready("risk", configuration=conf) is False
            assert probes.service_ready("risk", configuration=conf) is False
            assert probes.replicas_ready("orders", configuration=conf) is True
            assert probes.service_ready("orders", configuration=conf) is True
        finally:
            end_session(session)


def test_clean_removes_what_a_killed_run_left_and_honours_the_allow_list(
        platform: Any, prod_kubeconfig: Path) -> None:
    from tradestorm_chaos.execution import clean_target

    cluster = platform.cluster
    leftovers = [
        {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
         "metadata": {"name": "ts-partition-x", "namespace": NS, "labels": MANAGED},
         "spec": {"podSelector": {"matchLabels": {"app.kubernetes.io/name": "risk"}},
                  "policyTypes": ["Ingress"]}},
        {"apiVersion": "chaos-mesh.org/v1alpha1", "kind": "NetworkChaos",
         "metadata": {"name": "ts-latency-x", "namespace": NS, "labels": MANAGED},
         "spec": {"action": "delay", "mode": "all", "duration": "600s",
                  "selector": {"namespaces": [NS],
                               "labelSelectors": {"app.kubernetes.io/name": "risk"}},
                  "delay": {"latency": "200ms"}}},
        {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
         "metadata": {"name": "someone-elses", "namespace": NS},
         "spec": {"podSelector": {"matchLabels": {"app.kubernetes.io/name": "risk"}},
                  "policyTypes": ["Ingress"]}},
    ]
    cluster.kubectl("create", "-f", "-", input=json.dumps({"apiVersion": "v1", "kind": "List",
                                                           "items": leftovers}))
    try:
        before = platform.fingerprint()
        policies = {p["metadata"]["name"] for p in cluster.items("networkpolicies", "-n", NS)}
        with pytest.raises(ContextNotAllowed):
            clean_target(target="kubernetes", configuration=platform.chaos_configuration(
                kubernetes_context=FORBIDDEN, kubernetes_kubeconfig=str(prod_kubeconfig)),
                allowed_contexts=(ALLOWED,), allowed_namespaces=(NS,), say=lambda _l: None)
        assert platform.fingerprint() == before
        done, residue = clean_target(
            target="kubernetes", configuration=platform.chaos_configuration(
                tradestorm_residue_timeout_s=120),
            allowed_contexts=(ALLOWED,), allowed_namespaces=(NS,), say=lambda _l: None)
        assert sorted(done) == ["networkchaos/ts-latency-x", "networkpolicy/ts-partition-x"]
        assert residue == []
        assert chaos_mesh_objects(cluster) == []
        left = {p["metadata"]["name"] for p in cluster.items("networkpolicies", "-n", NS)}
        assert left == policies - {"ts-partition-x"}  # the platform's own and someone else's
        assert "someone-elses" in left
    finally:
        cluster.kubectl("delete", "networkpolicy/someone-elses", "networkpolicy/ts-partition-x",
                        "networkchaos.chaos-mesh.org/ts-latency-x", "-n", NS,
                        "--ignore-not-found")


# ---------------------------------------------------------------------- signals


def test_sigterm_releases_a_fault_held_in_a_background_activity_at_once(
        platform: Any, repo_experiments: Path, tmp_path: Path) -> None:
    """cpu-stress holds its StressChaos in a background thread while the main thread waits
    for the HPA: a SIGTERM must end both quickly, and nothing may be left on the cluster."""
    from tradestorm_chaos.session import current_session

    cluster = platform.cluster
    signalled: list[float] = []
    with cluster.watch(f"{CHAOS_MESH}/stresschaos") as chaos:

        def held() -> bool:  # the StressChaos is on the cluster and the run holds it
            return bool(chaos.of("ADDED")) and any(
                r.action == "cpu_stress" and "name" in r.undo
                for r in current_session().ledger.open_records())

        def terminate_once_stressed() -> None:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                if held():
                    signalled.append(time.monotonic())
                    os.kill(os.getpid(), signal.SIGTERM)
                    return
                time.sleep(0.1)

        threading.Thread(target=terminate_once_stressed, daemon=True).start()
        outcome = run_k8s(repo_experiments / "cpu-stress-analytics.yaml", platform, tmp_path,
                          fault_duration_s=300)
        ended = time.monotonic()
    assert signalled, "the StressChaos never appeared"
    assert ended - signalled[0] < 30  # not the 300 s of the fault
    assert outcome.status == "interrupted" and outcome.signal == "SIGTERM"
    assert chaos.types() == ["ADDED", "DELETED"]
    assert chaos_mesh_objects(cluster) == []
    assert outcome.residue_clean
    (fault,) = outcome.faults
    assert fault["action"] == "cpu_stress" and fault["end"] is not None


def test_a_second_signal_during_the_rollback_is_only_reported(tmp_path: Path) -> None:
    from tradestorm_chaos.session import RunSession
    from tradestorm_chaos.signals import InterruptGuard

    said: list[str] = []
    session = RunSession()
    with InterruptGuard(session, said.append) as guard:
        with pytest.raises(KeyboardInterrupt):
            signal.raise_signal(signal.SIGINT)
        assert session.abort.is_set() and guard.signal_name == "SIGINT"
        signal.raise_signal(signal.SIGINT)  # the rollback goes on: nothing raised
        signal.raise_signal(signal.SIGTERM)
    assert said[1:] == ["SIGINT received again: still rolling back, please wait",
                        "SIGTERM received again: still rolling back, please wait"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_a_missing_kubeconfig_is_a_clear_error_before_anything(
        repo_experiments: Path, tmp_path: Path) -> None:
    from tradestorm_chaos.errors import TargetUnavailable

    with pytest.raises(TargetUnavailable, match="kubeconfig"):
        run_experiment(repo_experiments / "pod-kill-orders.yaml", target="kubernetes",
                       configuration={"kubernetes_kubeconfig": str(tmp_path / "missing")},
                       journal_path=tmp_path / "j.json", residue_path=tmp_path / "r.json",
                       allowed_contexts=(ALLOWED,), allowed_namespaces=(NS,),
                       say=lambda _l: None)
    assert not (tmp_path / "j.json").exists()
