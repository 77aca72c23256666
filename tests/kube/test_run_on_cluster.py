"""``tradestorm run --target kubernetes`` on the real test cluster: a kube context to a verdict.

Each test is one real run through the CLI with short phases: the load runs in the cluster
(a Locust master and workers as Jobs), Prometheus and the database are found by their labels
and forwarded, the fault is real (pods deleted by the API, the database scaled to 0). Each
asserts what a user reads: a conclusive verdict and exit code, a clean reconcile, a clean
residue audit, a report, the results folder in the local run's layout, and nothing of the run
left in the namespace. No URL is typed: only the context.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.cluster.layout import CONTEXT
from tests.cluster.session import NAMESPACE

# a run of a few minutes, plus the platform's deployment for the first test of the session
pytestmark = pytest.mark.timeout(1500)

ROOT = Path(__file__).resolve().parents[2]
#: what a conclusive run exits with: pass (0), fail (1); 2 is an error or no data
CONCLUSIVE = (0, 1)


def _run(platform: Any, scenario: str, results: Path, *extra: str,
         timeout_s: float = 900) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "KUBECONFIG": str(platform.cluster.kubeconfig),
           "TRADESTORM_ALLOWED_CONTEXTS": CONTEXT, "NO_COLOR": "1"}
    # one busy 2-CPU node: replicas the HPAs add take long to be ready, the probes wait longer
    patience = ("--set", "recovery_timeout_s=150") if "--namespace" not in extra else ()
    return subprocess.run(
        [sys.executable, "-m", "tradestorm", "run", scenario, "--target", "kubernetes",
         "--context", CONTEXT, "--results", str(results), *patience, *extra],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout_s)


def _load_jobs(platform: Any) -> list[str]:
    return [j["metadata"]["name"] for j in platform.cluster.items(
        "jobs", "-n", NAMESPACE, "-l", "tradestorm.io/run")]


def _run_pods(platform: Any) -> list[str]:
    return [p["metadata"]["name"] for p in platform.cluster.items(
        "pods", "-n", NAMESPACE, "-l", "tradestorm.io/run")]


def _assert_run_folder(results: Path, done: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    """The results folder of a finished run, in the local run's layout; returns run.json."""
    detail = f"stdout:\n{done.stdout[-6000:]}\nstderr:\n{done.stderr[-3000:]}"
    assert done.returncode in CONCLUSIVE, detail
    run = json.loads((results / "run.json").read_text())
    assert run["target"] == "kubernetes" and run["status"] == "completed", detail
    assert run["verdict"] in ("pass", "warning", "fail"), detail
    for name in ("scenario.yaml", "slo.json", "reconcile.json", "timeseries.json",
                 "locust_stats.csv", "locust_stats_history.csv", "report.html"):
        assert (results / name).is_file(), f"{name} missing; {detail}"
    journals = sorted((results / "journal").glob("orders-*.jsonl"))
    assert journals, f"no order journal copied from the cluster; {detail}"
    reconcile = json.loads((results / "reconcile.json").read_text())
    assert reconcile["ok"] is True, reconcile
    assert reconcile.get("acknowledged", 0) > 0, reconcile
    assert run["stages"]["reconcile"]["ok"] is True
    slo = json.loads((results / "slo.json").read_text())
    # the workers' metrics reached the cluster's Prometheus: the client objectives have data
    client = {(o["name"], o["phase"]): o["verdict"] for o in slo["objectives"]
              if o["name"] in ("client-availability", "load-was-applied")}
    assert client and "no_data" not in client.values(), client
    assert all(client.get((name, phase)) for name in ("client-availability", "load-was-applied")
               for phase in ("baseline", "run")), client
    return run


def _assert_nothing_left(platform: Any) -> None:
    platform.cluster.wait_until("the run's Jobs and pods gone",
                                lambda: None if not (_load_jobs(platform) or _run_pods(platform))
                                else f"{_load_jobs(platform)} {_run_pods(platform)}",
                                timeout_s=120)
    platform.wait_healthy(timeout_s=300)


def test_pod_kill_orders_reaches_a_verdict_with_the_load_in_the_cluster(
        kube_platform: Any, tmp_path: Path) -> None:
    results = tmp_path / "pod-kill"
    done = _run(kube_platform, "pod-kill-orders", results, "--warmup", "10s", "--baseline",
                "30s", "--fault", "20s", "--recovery", "30s", "--users", "12")
    run = _assert_run_folder(results, done)
    assert run["experiment"]["residue_clean"] is True
    assert run["stages"]["fault_sweep"]["ok"] is True
    # two workers, both scraped while the run lasted
    history = (results / "logs").glob("tradestorm-load-*-worker-*.log")
    assert len(list(history)) == 2
    assert "kubectl" not in done.stderr  # no port-forward complaint reached the user
    _assert_nothing_left(kube_platform)


def test_database_outage_on_kubernetes_loses_no_acknowledged_order(
        kube_platform: Any, tmp_path: Path) -> None:
    results = tmp_path / "db-outage"
    done = _run(kube_platform, "database-outage", results, "--warmup", "10s", "--baseline",
                "20s", "--fault", "20s", "--recovery", "45s", "--users", "15")
    run = _assert_run_folder(results, done)
    assert run["experiment"]["residue_clean"] is True
    _assert_nothing_left(kube_platform)


def _hpa(platform: Any, metric: str, query: str = "{series}") -> float:
    series = (f'kube_horizontalpodautoscaler_{metric}{{namespace="{NAMESPACE}",'
              f'horizontalpodautoscaler="analytics"}}')
    answer = platform.cluster.prometheus_query(query.format(series=series))
    assert answer, f"Prometheus has no {metric} of the analytics HPA"
    return float(answer[0]["value"][1])


def test_hpa_scale_out_scales_analytics_out_and_back_in(kube_platform: Any,
                                                        tmp_path: Path) -> None:
    results = tmp_path / "hpa"
    started = time.time()
    # the ramp reaches its users at the end of the run: 60 users give analytics enough CPU
    # to scale out well inside the fault's 90 s (40 scaled it out at 99 s once the platform's
    # per-request work got cheaper); Chaos Mesh's stress has no controller on this cluster
    done = _run(kube_platform, "hpa-scale-out", results, "--warmup", "10s", "--baseline",
                "20s", "--fault", "90s", "--recovery", "60s", "--users", "60")
    run = _assert_run_folder(results, done)
    floor = _hpa(kube_platform, "spec_min_replicas")
    window = f"{int(time.time() - started) + 30}s"
    peak = _hpa(kube_platform, "status_desired_replicas",
                f"max_over_time({{series}}[{window}])")
    assert peak > floor, f"analytics never scaled out (desired peak {peak}, min {floor})"
    # the load is over: the HPA scales back in (20 s of stabilization in the local overlay)
    kube_platform.cluster.wait_until(
        "analytics scaled back in",
        lambda: None if _hpa(kube_platform, "status_desired_replicas") <= floor
        else f"desired {_hpa(kube_platform, 'status_desired_replicas')} > min {floor}",
        timeout_s=240, interval_s=5)
    (hpa,) = json.loads((results / "slo.json").read_text())["hpa"]  # judged, from the cluster
    assert hpa["hpa"] == "analytics" and hpa["verdict"] in ("pass", "warning", "fail"), hpa
    assert hpa["peak_replicas"] > hpa["initial_replicas"], hpa
    assert hpa["scale_out_seconds"] is not None and hpa["scale_out_seconds"] > 0, hpa
    # the report's HPA chart plots desired against current, from the cluster's series
    series = json.loads((results / "timeseries.json").read_text())["series"]
    hpa_series = {s["name"] for s in series if s["panel"] == "hpa_replicas"}
    assert {"analytics desired", "analytics current"} <= hpa_series, hpa_series
    assert "HPA replicas, desired against current" in (results / "report.html").read_text()
    assert run["verdict"] in ("pass", "warning", "fail")
    _assert_nothing_left(kube_platform)


def test_a_namespace_without_the_platform_is_refused_before_any_load(
        kube_platform: Any, tmp_path: Path) -> None:
    done = _run(kube_platform, "pod-kill-orders", tmp_path / "nowhere", "--namespace", "nowhere",
                timeout_s=120)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "namespace 'nowhere' does not exist" in done.stdout + done.stderr
    assert not (tmp_path / "nowhere" / "run.json").exists()
    assert not _load_jobs(kube_platform)


def test_the_load_of_a_killed_run_is_removed_and_a_live_one_is_respected(
        kube_platform: Any) -> None:
    """A CLI killed mid-run leaves its Jobs and a Lease it no longer renews: the next run's
    connection removes them; a Lease still renewed is another run's, and is left alone."""
    from tradestorm.kube.client import KubeConnection
    from tradestorm.kube.loadleases import active_runs, micro_time, remove_leftovers

    def objects(run: str, renewed: float) -> list[dict[str, Any]]:
        labels = {"tradestorm.io/run": run, "app.kubernetes.io/component": "load-generator"}
        meta = {"name": f"tradestorm-load-{run}", "namespace": NAMESPACE, "labels": labels}
        pod = {"restartPolicy": "Never", "containers": [{
            "name": "idle", "image": "tradestorm.local/pause:3.10",
            "imagePullPolicy": "IfNotPresent"}]}
        return [
            {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": meta,
             "spec": {"holderIdentity": run, "leaseDurationSeconds": 45,
                      "renewTime": micro_time(renewed)}},
            {"apiVersion": "batch/v1", "kind": "Job",
             "metadata": {**meta, "name": f"tradestorm-load-{run}-worker"},
             "spec": {"backoffLimit": 0, "template": {"metadata": {"labels": labels},
                                                      "spec": pod}}},
        ]

    conn = KubeConnection(CONTEXT, kube_platform.cluster.kubeconfig)
    try:
        for obj in objects("killed", time.time() - 300) + objects("alive", time.time()):
            conn.apply(obj)
        assert active_runs(conn, NAMESPACE) == ["alive"]
        removed = remove_leftovers(conn, NAMESPACE)
        assert sorted(removed) == ["Job tradestorm-load-killed-worker",
                                   "Lease tradestorm-load-killed"]
        assert _load_jobs(kube_platform) == ["tradestorm-load-alive-worker"]
        removed = remove_leftovers(conn, NAMESPACE, all_runs=True)  # what `down` does
        assert len(removed) == 2
    finally:
        remove_leftovers(conn, NAMESPACE, all_runs=True)
        conn.close()
    _assert_nothing_left(kube_platform)


def _guarded_scenario(tmp_path: Path, *, for_s: float) -> Path:
    """The local guardrail test's scenario, for the cluster: the same ``guardrails`` section."""
    import yaml

    doc = {
        "name": "guarded-database-outage",
        "description": "a database outage a client-error guardrail stops early",
        "targets": ["kubernetes"],
        "load": {"profile": "steady", "users": 12, "seed": 13},
        "experiment": "database-outage",
        "phases": {"warmup": "10s", "baseline": "20s", "fault": "120s", "recovery": "45s"},
        "guardrails": {"interval": "1s", "stop": [
            {"name": "client-errors", "query": "client:errors:ratio_rate10s", "above": 0.05,
             "for": f"{for_s:g}s"}]},
    }
    path = tmp_path / "guarded.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def test_a_guardrail_aborts_a_database_outage_on_kubernetes(
        kube_platform: Any, tmp_path: Path) -> None:
    """The guardrail section the local target runs works unchanged on the cluster: the
    cluster's Prometheus sees the client errors, the fault (the database scaled to 0) is
    rolled back long before its planned 120 s, the recovery is measured, exit 3."""
    results = tmp_path / "guarded"
    done = _run(kube_platform, str(_guarded_scenario(tmp_path, for_s=5)), results)
    detail = f"stdout:\n{done.stdout[-6000:]}\nstderr:\n{done.stderr[-3000:]}"
    assert done.returncode == 3, detail
    assert "guardrail tripped" in done.stdout, detail
    run = json.loads((results / "run.json").read_text())
    assert run["status"] == "aborted" and run["verdict"] == "aborted", detail
    trip = run["stages"]["guardrails"]["tripped"]
    assert trip["kind"] == "condition" and trip["name"] == "client-errors", trip
    assert trip["value"] > 0.05 and trip["for_s"] == 5, trip
    assert 5 <= trip["tripped_at"] - trip["condition_true_at"] <= 7, trip
    fault = next(p for p in run["phases"] if p["name"] == "fault")
    assert fault["end"] - fault["start"] < 90, fault
    assert trip["fault_removed_at"] is not None
    assert 0 <= trip["fault_removed_at"] - trip["tripped_at"] <= 30, trip
    recovery = next(p for p in run["phases"] if p["name"] == "recovery")
    assert recovery["end"] - recovery["start"] >= 44, recovery
    assert run["experiment"]["residue_clean"] is True
    assert json.loads((results / "reconcile.json").read_text())["ok"] is True
    assert "client-errors" in (results / "report.html").read_text()
    _assert_nothing_left(kube_platform)


def test_the_lever_on_kubernetes_refuses_a_run_until_released(
        kube_platform: Any, tmp_path: Path) -> None:
    """``tradestorm lever`` on the cluster is a ConfigMap in the harness's namespace: engaged,
    a run is refused before any load (exit 2, naming who and why); released, it is allowed."""
    env = {**os.environ, "KUBECONFIG": str(kube_platform.cluster.kubeconfig),
           "TRADESTORM_ALLOWED_CONTEXTS": CONTEXT, "NO_COLOR": "1"}
    lever = [sys.executable, "-m", "tradestorm", "lever"]
    where = ["--target", "kubernetes", "--context", CONTEXT]

    def call(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*lever, *args, *where], cwd=ROOT, env=env, capture_output=True,
                              text=True, timeout=60)

    engaged = call("engage", "--reason", "venue incident", "--by", "sre-on-call")
    try:
        assert engaged.returncode == 0, engaged.stdout + engaged.stderr
        cm = kube_platform.cluster.items("configmaps", "-n", NAMESPACE,
                                         "--field-selector", "metadata.name=tradestorm-lever")
        assert cm and cm[0]["data"]["engaged"] == "true" and cm[0]["data"]["by"] == "sre-on-call"
        status = call("status")
        assert status.returncode == 1 and "ENGAGED" in status.stdout, status.stdout
        refused = _run(kube_platform, "database-outage", tmp_path / "refused", timeout_s=120)
        shown = refused.stdout + refused.stderr
        assert refused.returncode == 2, shown
        assert "sre-on-call" in shown and "venue incident" in shown, shown
        assert not (tmp_path / "refused" / "run.json").exists()
        assert not _load_jobs(kube_platform)
    finally:
        released = call("release")
    assert released.returncode == 0, released.stdout + released.stderr
    assert call("status").returncode == 0
