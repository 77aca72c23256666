"""The Kubernetes driver, end to end through Chaos Toolkit, against a FAKE API server.

Kubernetes cannot run here: ``FakeKubeApiServer`` (tests/fakes) stores objects
and records every request, so these tests assert what the driver asked the
cluster to do (and, as importantly, that it asked nothing when it must not).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from chaos_test_helpers import NS, chaos_mesh_objects, write_experiment
from tradestorm_chaos.errors import (
    ContextNotAllowed,
    NamespaceNotAllowed,
    UnsupportedOnTarget,
)
from tradestorm_chaos.runner import run_experiment

ALLOWED = "kind-chaos"
FORBIDDEN = "prod-eu"


@pytest.fixture(autouse=True)
def _clean_allow_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TRADESTORM_ALLOWED_CONTEXTS", raising=False)
    monkeypatch.delenv("TRADESTORM_ALLOWED_NAMESPACES", raising=False)


def run_k8s(path: Path, cluster: Any, tmp_path: Path, *, context: str = ALLOWED,
            allowed: tuple[str, ...] = (ALLOWED,), namespaces: tuple[str, ...] = (NS,),
            dry_run: bool = False, **config: Any) -> Any:
    return run_experiment(
        path, target="kubernetes", configuration=cluster.configuration(context, **config),
        journal_path=tmp_path / "out" / "chaos-journal.json",
        residue_path=tmp_path / "out" / "residue.json", dry_run=dry_run,
        allowed_contexts=allowed, allowed_namespaces=namespaces, say=lambda _line: None)


# ---------------------------------------------------------------------- safety


def test_an_unlisted_context_is_refused_before_any_request_that_changes_anything(
        fake_cluster: Any, repo_experiments: Path, tmp_path: Path) -> None:
    with pytest.raises(ContextNotAllowed, match=FORBIDDEN):
        run_k8s(repo_experiments / "pod-kill-orders.yaml", fake_cluster, tmp_path,
                context=FORBIDDEN)
    assert fake_cluster.kube.mutations() == []
    assert len(fake_cluster.kube.objects("v1", "Pod", NS)) == 12


def test_the_kubeconfig_current_context_is_not_allowed_implicitly(
        fake_cluster: Any, repo_experiments: Path, tmp_path: Path) -> None:
    config = fake_cluster.configuration()
    del config["kubernetes_context"]  # the kubeconfig's current context is prod-eu
    with pytest.raises(ContextNotAllowed, match=FORBIDDEN):
        run_experiment(repo_experiments / "pod-kill-orders.yaml", target="kubernetes",
                       configuration=config, journal_path=tmp_path / "j.json",
                       residue_path=tmp_path / "r.json", allowed_contexts=(ALLOWED,),
                       allowed_namespaces=(NS,), say=lambda _l: None)
    assert fake_cluster.kube.mutations() == []


def test_the_namespace_must_be_allowed_too_and_system_namespaces_never_are(
        fake_cluster: Any, repo_experiments: Path, tmp_path: Path) -> None:
    with pytest.raises(NamespaceNotAllowed, match=NS):
        run_k8s(repo_experiments / "pod-kill-orders.yaml", fake_cluster, tmp_path,
                namespaces=("staging",))
    with pytest.raises(NamespaceNotAllowed, match="kube-system"):
        run_k8s(repo_experiments / "pod-kill-orders.yaml", fake_cluster, tmp_path,
                namespaces=("kube-system",), kubernetes_namespace="kube-system")
    assert fake_cluster.kube.mutations() == []


def test_the_cli_refuses_an_unlisted_context_with_exit_2_and_names_it(
        fake_cluster: Any, repo_experiments: Path, tmp_path: Path) -> None:
    env = {**os.environ, **fake_cluster.env()}
    proc = subprocess.run(
        [sys.executable, "-m", "tradestorm", "chaos", "run",
         str(repo_experiments / "pod-kill-orders.yaml"), "--target", "kubernetes",
         "--context", FORBIDDEN, "--allow-context", ALLOWED, "--allow-namespace", NS,
         "--results", str(tmp_path / "out")],
        env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert f"kube context '{FORBIDDEN}' is not allowed" in proc.stderr
    assert fake_cluster.kube.mutations() == []


@pytest.mark.parametrize("name", ["pod-kill-orders", "risk-latency", "database-outage",
                                  "partition-marketdata", "portfolio-outage",
                                  "cpu-stress-analytics", "node-drain"])
def test_dry_run_prints_every_action_and_touches_nothing(
        name: str, fake_cluster: Any, repo_experiments: Path, tmp_path: Path) -> None:
    lines: list[str] = []
    outcome = run_experiment(
        repo_experiments / f"{name}.yaml", target="kubernetes",
        configuration=fake_cluster.configuration(FORBIDDEN, fault_duration_s=60),
        journal_path=tmp_path / "j.json", residue_path=tmp_path / "r.json", dry_run=True,
        say=lines.append)
    assert fake_cluster.kube.mutations() == []
    assert outcome.dry_run and outcome.planned, lines
    printed = [line for line in lines if line.startswith("[dry-run] would ")]
    assert printed == [f"[dry-run] would {p}" for p in outcome.planned]
    assert any("a real run would be refused" in line for line in lines)
    assert json.loads((tmp_path / "r.json").read_text())["clean"] is False  # not audited


def test_dry_run_names_the_pods_it_would_kill(fake_cluster: Any, repo_experiments: Path,
                                             tmp_path: Path) -> None:
    outcome = run_k8s(repo_experiments / "pod-kill-orders.yaml", fake_cluster, tmp_path,
                      dry_run=True)
    assert fake_cluster.kube.mutations() == []
    kill = [p for p in outcome.planned if "terminate pod" in p]
    assert len(kill) == 1 and ("orders-0" in kill[0] or "orders-1" in kill[0])


# ---------------------------------------------------------------------- faults


def test_pod_kill_deletes_exactly_one_running_pod_with_no_grace(
        fake_cluster: Any, repo_experiments: Path, tmp_path: Path) -> None:
    fake_cluster.kube.put({**fake_cluster.kube.get("v1", "Pod", "orders-1", NS),
                           "metadata": {**fake_cluster.kube.get("v1", "Pod", "orders-1", NS)[
                               "metadata"], "deletionTimestamp": "2026-01-01T00:00:00Z"}})
    outcome = run_k8s(repo_experiments / "pod-kill-orders.yaml", fake_cluster, tmp_path)
    assert outcome.status == "completed", outcome.to_dict()
    deletes = fake_cluster.kube.requests_to("DELETE", "/pods/")
    # orders-1 was already terminating: the only candidate is orders-0
    assert [r.path.rsplit("/", 1)[1] for r in deletes] == ["orders-0"]
    assert deletes[0].body.get("gracePeriodSeconds") == 0
    assert [f["action"] for f in outcome.faults] == ["kill_replicas"]
    assert outcome.residue_clean


def test_killing_more_pods_than_run_fails_the_run_instead_of_silently_killing_fewer(
        fake_cluster: Any, tmp_path: Path) -> None:
    path = write_experiment(tmp_path, method=[{
        "type": "action", "name": "kill-three", "provider": {
            "type": "python", "module": "tradestorm_chaos.actions", "func": "kill_replicas",
            "arguments": {"service": "orders", "count": 3}}}])
    outcome = run_k8s(path, fake_cluster, tmp_path)
    assert outcome.status == "failed"
    assert any("only 2 running" in f for f in outcome.failed_activities)
    assert fake_cluster.kube.requests_to("DELETE", "/pods/") == []


def test_latency_is_a_chaos_mesh_networkchaos_with_a_duration_removed_at_the_end(
        fake_cluster: Any, repo_experiments: Path, tmp_path: Path) -> None:
    created: list[dict[str, Any]] = []
    fake_cluster.kube.on_write(
        lambda event, obj: created.append(obj)
        if event == "ADDED" and obj["kind"] == "NetworkChaos" else None)
    outcome = run_k8s(repo_experiments / "risk-latency.yaml", fake_cluster, tmp_path,
                      fault_duration_s=1)
    assert outcome.status == "completed", outcome.to_dict()
    assert len(created) == 1
    chaos = created[0]
    assert chaos["metadata"]["namespace"] == NS
    assert chaos["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "tradestorm-chaos"
    assert chaos["spec"]["duration"] == "6s"  # the fault expires by itself if we die
    assert chaos["spec"]["mode"] == "all"
    assert chaos["spec"]["selector"]["labelSelectors"] == {"app.kubernetes.io/name": "risk"}
    assert chaos["spec"]["delay"] == {"latency": "200ms", "jitter": "50ms", "correlation": "0"}
    assert chaos_mesh_objects(fake_cluster.kube) == []
    (fault,) = outcome.faults
    assert fault["action"] == "add_latency" and fault["target"] == "risk"
    assert 0.9 <= fault["end"] - fault["start"] < 5
    assert outcome.residue_clean
    assert json.loads((tmp_path / "out" / "residue.json").read_text()) == {"clean": True,
                                                                          "items": []}


def test_partition_is_a_chaos_mesh_partition_that_expires_and_is_removed(
        fake_cluster: Any, repo_experiments: Path, tmp_path: Path) -> None:
    seen: list[dict[str, Any]] = []
    fake_cluster.kube.on_write(
        lambda event, obj: seen.append(obj)
        if event == "ADDED" and obj["kind"] in ("NetworkChaos", "NetworkPolicy") else None)
    outcome = run_k8s(repo_experiments / "partition-marketdata.yaml", fake_cluster, tmp_path,
                      fault_duration_s=1)
    assert outcome.status == "completed", outcome.to_dict()
    (chaos,) = seen  # no NetworkPolicy: the platform's allow policies would override it
    assert chaos["kind"] == "NetworkChaos"
    assert chaos["spec"]["action"] == "partition" and chaos["spec"]["mode"] == "all"
    assert chaos["spec"]["selector"]["labelSelectors"] == {"app.kubernetes.io/name":
                                                           "marketdata"}
    assert chaos["spec"]["duration"] == "6s"
    assert chaos_mesh_objects(fake_cluster.kube) == []


def test_database_outage_scales_the_statefulset_to_zero_and_back(
        fake_cluster: Any, repo_experiments: Path, tmp_path: Path) -> None:
    replicas: list[int] = []
    fake_cluster.kube.on_write(
        lambda event, obj: replicas.append(obj["spec"]["replicas"])
        if event == "MODIFIED" and obj["kind"] == "StatefulSet" else None)
    outcome = run_k8s(repo_experiments / "database-outage.yaml", fake_cluster, tmp_path,
                      fault_duration_s=1)
    assert outcome.status == "completed", outcome.to_dict()
    assert replicas == [0, 1]
    assert fake_cluster.kube.get("apps/v1", "StatefulSet", "postgres", NS)["spec"]["replicas"] == 1


def test_service_outage_restores_at_least_the_hpa_minimum(
        fake_cluster: Any, tmp_path: Path) -> None:
    hpa = fake_cluster.kube.get("autoscaling/v2", "HorizontalPodAutoscaler", "analytics", NS)
    hpa["spec"]["minReplicas"] = 3
    fake_cluster.kube.put(hpa)
    path = write_experiment(tmp_path, method=[{
        "type": "action", "name": "analytics-down", "provider": {
            "type": "python", "module": "tradestorm_chaos.actions", "func": "service_outage",
            "arguments": {"service": "analytics", "duration": 1}}}],
        rollbacks=[{"type": "action", "name": "back", "provider": {
            "type": "python", "module": "tradestorm_chaos.actions", "func": "remove_faults",
            "arguments": {"service": "analytics"}}}])
    replicas: list[int] = []
    fake_cluster.kube.on_write(
        lambda event, obj: replicas.append(obj["spec"]["replicas"])
        if obj["kind"] == "Deployment" and obj["metadata"]["name"] == "analytics" else None)
    outcome = run_k8s(path, fake_cluster, tmp_path)
    assert outcome.status == "completed", outcome.to_dict()
    # scaled from 2 to 0, then back to 3: an HPA with minReplicas 3 would undo a 2 anyway
    assert replicas == [0, 3]


def test_cpu_stress_waits_for_the_hpa_to_scale_out(
        fake_cluster: Any, repo_experiments: Path, tmp_path: Path) -> None:
    kube = fake_cluster.kube

    def hpa_controller(event: str, obj: dict[str, Any]) -> None:
        if event == "ADDED" and obj["kind"] == "StressChaos":
            hpa = kube.get("autoscaling/v2", "HorizontalPodAutoscaler", "analytics", NS)
            hpa["status"] = {"currentReplicas": 4, "desiredReplicas": 4}
            kube.put(hpa)

    kube.on_write(hpa_controller)
    outcome = run_k8s(repo_experiments / "cpu-stress-analytics.yaml", fake_cluster, tmp_path,
                      fault_duration_s=2)
    assert outcome.status == "completed", outcome.to_dict()
    assert [f["action"] for f in outcome.faults] == ["cpu_stress"]
    assert chaos_mesh_objects(kube) == []


def test_cpu_stress_without_scale_out_fails_the_run(
        fake_cluster: Any, repo_experiments: Path, tmp_path: Path) -> None:
    outcome = run_k8s(repo_experiments / "cpu-stress-analytics.yaml", fake_cluster, tmp_path,
                      fault_duration_s=1)
    assert outcome.status == "failed"
    assert any("did not scale out" in f for f in outcome.failed_activities)
    assert outcome.residue_clean  # the stress itself was still removed


def test_node_drain_evicts_only_the_platform_namespace_and_uncordons(
        fake_cluster: Any, repo_experiments: Path, tmp_path: Path) -> None:
    kube = fake_cluster.kube
    cordons: list[Any] = []
    kube.on_write(lambda event, obj: cordons.append(obj["spec"].get("unschedulable"))
                  if obj["kind"] == "Node" and obj["metadata"]["name"] == "node-a" else None)
    outcome = run_k8s(repo_experiments / "node-drain.yaml", fake_cluster, tmp_path,
                      fault_duration_s=1)
    assert outcome.status == "completed", outcome.to_dict()
    evictions = [r.path for r in kube.requests_to("POST", "/eviction")]
    assert evictions and all(f"/namespaces/{NS}/" in p for p in evictions)
    assert kube.get("v1", "Pod", "coredns-0", "kube-system") is not None
    assert cordons == [True, False]
    assert not kube.get("v1", "Node", "node-a")["spec"].get("unschedulable")


def test_a_fault_that_cannot_be_removed_is_residue_and_fails_the_run(
        fake_cluster: Any, repo_experiments: Path, tmp_path: Path) -> None:
    for _ in range(4):  # the action's removal, the rollback, the sweep: all refused
        fake_cluster.kube.fail_next("DELETE", r"/networkchaos/", 500, "etcd is sad")
    outcome = run_k8s(repo_experiments / "risk-latency.yaml", fake_cluster, tmp_path,
                      fault_duration_s=1)
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


def test_replicas_ready_is_false_not_an_error_when_no_replica_is_available(
        fake_cluster: Any, tmp_path: Path) -> None:
    from tradestorm_chaos import probes
    from tradestorm_chaos.session import end_session, new_session

    deployment = fake_cluster.kube.get("apps/v1", "Deployment", "risk", NS)
    deployment["status"] = {"replicas": 2}  # no readyReplicas at all
    fake_cluster.kube.simulate_workloads = False
    fake_cluster.kube.put(deployment)
    session = new_session(allowed_contexts_=(ALLOWED,), allowed_namespaces_=(NS,))
    try:
        conf = {**fake_cluster.configuration(), "tradestorm_target": "kubernetes"}
        assert probes.replicas_ready("risk", configuration=conf) is False
        assert probes.replicas_ready("orders", configuration=conf) is True
    finally:
        end_session(session)


def test_clean_removes_what_a_killed_run_left_and_honours_the_allow_list(
        fake_cluster: Any, tmp_path: Path) -> None:
    from tradestorm_chaos.runner import clean_target

    kube = fake_cluster.kube
    managed = {"app.kubernetes.io/managed-by": "tradestorm-chaos"}
    kube.put({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
              "metadata": {"name": "ts-partition-x", "namespace": NS, "labels": managed},
              "spec": {"podSelector": {"matchLabels": {"app.kubernetes.io/name": "risk"}}}})
    kube.put({"apiVersion": "chaos-mesh.org/v1alpha1", "kind": "NetworkChaos",
              "metadata": {"name": "ts-latency-x", "namespace": NS, "labels": managed},
              "spec": {"selector": {"labelSelectors": {"app.kubernetes.io/name": "risk"}}}})
    kube.put({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
              "metadata": {"name": "someone-elses", "namespace": NS},
              "spec": {"podSelector": {}}})
    with pytest.raises(ContextNotAllowed):
        clean_target(target="kubernetes", configuration=fake_cluster.configuration(FORBIDDEN),
                     allowed_contexts=(ALLOWED,), allowed_namespaces=(NS,), say=lambda _l: None)
    assert kube.mutations() == []
    done, residue = clean_target(target="kubernetes", configuration=fake_cluster.configuration(),
                                 allowed_contexts=(ALLOWED,), allowed_namespaces=(NS,),
                                 say=lambda _l: None)
    assert sorted(done) == ["networkchaos/ts-latency-x", "networkpolicy/ts-partition-x"]
    assert residue == []
    assert [p["metadata"]["name"] for p in kube.objects("networking.k8s.io/v1", "NetworkPolicy",
                                                         NS)] == ["someone-elses"]


def test_sigterm_releases_a_fault_held_in_a_background_activity_at_once(
        fake_cluster: Any, repo_experiments: Path, tmp_path: Path) -> None:
    """cpu-stress holds its StressChaos in a background thread while the main thread waits
    for the HPA: a SIGTERM must end both quickly, and nothing may be left."""
    import os
    import signal
    import threading
    import time

    kube = fake_cluster.kube
    created = threading.Event()
    kube.on_write(lambda event, obj: created.set()
                  if event == "ADDED" and obj["kind"] == "StressChaos" else None)

    def terminate_once_stressed() -> None:
        if created.wait(30):
            time.sleep(0.5)
            os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=terminate_once_stressed, daemon=True).start()
    started = time.monotonic()
    outcome = run_k8s(repo_experiments / "cpu-stress-analytics.yaml", fake_cluster, tmp_path,
                      fault_duration_s=300)
    assert created.is_set()
    assert time.monotonic() - started < 30  # not the 300 s of the fault
    assert outcome.status == "interrupted" and outcome.signal == "SIGTERM"
    assert chaos_mesh_objects(kube) == []
    assert outcome.residue_clean
    (fault,) = outcome.faults
    assert fault["action"] == "cpu_stress" and fault["end"] is not None


def test_a_second_signal_during_the_rollback_is_only_reported(tmp_path: Path) -> None:
    import signal

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
