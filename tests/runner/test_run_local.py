"""``tradestorm run`` end to end against the real local target.

Each test runs the real command in a subprocess (real Locust load, real Chaos
Toolkit experiment, real Prometheus, real PostgreSQL, real SLO gate and
report) with the shipped scenarios and short phases given on the command line,
against the session's local target (``local_target`` in tests/conftest.py).
The SIGINT test runs last: it interrupts a database outage in the middle.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

pytestmark = pytest.mark.slow

SHORT = ["--warmup", "3s", "--users", "6"]


@pytest.fixture(autouse=True)
def _heal_afterwards(local_target: Any) -> Any:
    """After the test's own residue checks: put the shared target back for the next test."""
    yield
    local_target.heal()


def run_cli(args: list[str], *, target: Any, results: Path, repo_root: Path,
            timeout_s: float = 150) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "tradestorm", "run", *args, "--state-dir",
           str(target.state_dir), "--results", str(results)]
    done = subprocess.run(cmd, cwd=repo_root, capture_output=True, text=True, timeout=timeout_s,
                          env={**os.environ, "COLUMNS": "200"})
    output = done.stdout + "\n--- stderr\n" + done.stderr
    (results.parent / f"{results.name}.out").write_text(output)
    return done


def read(results: Path, name: str) -> Any:
    return json.loads((results / name).read_text())


def objectives(slo: dict[str, Any], name: str) -> dict[str, dict[str, Any]]:
    """The objective ``name`` per phase."""
    return {o["phase"]: o for o in slo["objectives"] if o["name"] == name}


def phase(run: dict[str, Any], name: str) -> dict[str, Any]:
    return next(p for p in run["phases"] if p["name"] == name)


def assert_complete_folder(results: Path, *, with_experiment: bool) -> None:
    expected = ["run.json", "scenario.yaml", "locust_stats.csv", "locust_stats_history.csv",
                "reconcile.json", "slo.json", "junit.xml", "timeseries.json", "report.html"]
    if with_experiment:
        expected += ["experiment.json", "chaos-journal.json", "residue.json"]
    missing = [name for name in expected if not (results / name).is_file()]
    assert not missing, f"missing from the results folder: {missing}"
    assert list((results / "journal").glob("orders-*.jsonl")), "no order journal"


def assert_no_residue(target: Any) -> None:
    """No proxy fault left, the database up, every replica back (within a few seconds)."""
    state = target.state
    controls = [s["proxy_control_url"] for s in state["services"].values()]
    controls += [p["control_url"] for p in state.get("proxies", {}).values()]
    for url in controls:
        faults = httpx.get(f"{url}/faults", timeout=5).json()["faults"]
        assert faults == [], f"fault left on {url}: {faults}"
    deadline = time.monotonic() + 30
    while True:
        metrics = httpx.get(f"{state['supervisor']['control_url']}/metrics", timeout=5).text
        ready = {line.split("{")[1].split("}")[0]: float(line.rsplit(" ", 1)[1])
                 for line in metrics.splitlines() if line.startswith("tradestorm_replicas_ready{")}
        desired = {line.split("{")[1].split("}")[0]: float(line.rsplit(" ", 1)[1])
                   for line in metrics.splitlines()
                   if line.startswith("tradestorm_replicas_desired{")}
        db_up = [float(line.rsplit(" ", 1)[1]) for line in metrics.splitlines()
                 if line.startswith("tradestorm_database_up")]
        if ready == desired and db_up == [1.0]:
            return
        assert time.monotonic() < deadline, f"not back: ready={ready} desired={desired} db={db_up}"
        time.sleep(1)


def wait_for_fault_phase(proc: subprocess.Popen[bytes], results: Path, out: Path,
                         deadline: float) -> None:
    """Until the run's run.json has a fault phase (the run still going)."""
    while True:
        assert proc.poll() is None, out.read_text()
        run_file = results / "run.json"
        if run_file.exists() and any(
                p["name"] == "fault" for p in json.loads(run_file.read_text())["phases"]):
            return
        assert time.monotonic() < deadline, "the fault phase never started"
        time.sleep(0.3)


def no_locust_left(results: Path) -> list[int]:
    left = []
    for proc in psutil.process_iter(["pid", "cmdline"]):
        cmdline = " ".join(proc.info.get("cmdline") or [])
        if "locust" in cmdline and str(results) in cmdline:
            left.append(proc.info["pid"])
    return left


def test_steady_baseline_passes(local_target: Any, repo_root: Path, tmp_path: Path) -> None:
    results = tmp_path / "steady"
    done = run_cli(["steady-baseline", *SHORT, "--baseline", "8s"], target=local_target,
                   results=results, repo_root=repo_root)
    # the gate passes (exit 0); "warning" is a pass with a note (a shared CI machine's tail)
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(r"verdict: (PASS|WARNING)  \(run completed, exit code 0\)", done.stdout)
    assert f"report:  {results / 'report.html'}" in done.stdout
    assert "already running" in done.stdout  # the session's target: used, not restarted
    # live progress (plain lines off a terminal): phase, throughput, error rate, faults
    assert re.search(r"baseline .*\| \d+\.\d req/s \| errors \d+\.\d\d % \| p99 \d+ ms \| "
                     r"faults: none", done.stdout), done.stdout
    assert_complete_folder(results, with_experiment=False)
    run = read(results, "run.json")
    assert run["status"] == "completed" and run["scenario"] == "steady-baseline"
    assert [p["name"] for p in run["phases"]] == ["baseline"]
    baseline = phase(run, "baseline")
    assert 7.5 <= baseline["end"] - baseline["start"] <= 10
    assert run["started_at"] <= baseline["start"] < baseline["end"] <= run["ended_at"]
    for key in ("tradestorm", "python", "locust", "chaostoolkit", "prometheus", "postgres"):
        assert run["versions"].get(key), f"version of {key} missing"
    assert run["faults"] == []
    slo = read(results, "slo.json")
    assert slo["verdict"] in ("pass", "warning") and slo["exit_code"] == 0
    assert not [o for o in slo["objectives"] if o["verdict"] == "no_data"]
    assert {o["verdict"] for o in slo["objectives"] if o["phase"] in ("fault", "recovery")} \
        == {"not_applicable"}
    assert slo["integrity"]["lost"] == 0 and slo["integrity"]["acknowledged"] > 0
    reconcile = read(results, "reconcile.json")
    assert reconcile["ok"] is True and reconcile["acknowledged"] > 0
    # the session's target is left as the run found it: running
    assert psutil.pid_exists(local_target.state["supervisor"]["pid"])


def test_risk_latency_far_above_objective_fails_in_the_fault_phase_and_recovers(
    local_target: Any, repo_root: Path, tmp_path: Path
) -> None:
    results = tmp_path / "risk"
    done = run_cli(
        ["risk-latency", *SHORT, "--baseline", "5s", "--fault", "8s", "--recovery", "20s",
         "--set", "latency_ms=3000", "--set", "jitter_ms=0"],
        target=local_target, results=results, repo_root=repo_root,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "verdict: FAIL" in done.stdout
    assert_complete_folder(results, with_experiment=True)
    run = read(results, "run.json")
    assert [p["name"] for p in run["phases"]] == ["baseline", "fault", "recovery"]
    fault = phase(run, "fault")
    assert fault["end"] - fault["start"] >= 7.5
    injected = [f for f in run["faults"] if "risk" in json.dumps(f)]
    assert injected, run["faults"]
    assert fault["start"] - 1 <= injected[0]["start"] <= fault["start"] + 1
    slo = read(results, "slo.json")
    assert slo["verdict"] == "fail"
    latency = objectives(slo, "client-latency-p99[order-entry]")
    assert latency["fault"]["verdict"] == "fail", latency["fault"]
    assert latency["fault"]["value"] > latency["fault"]["target"]
    # ... and it recovers: every recovery objective measured a recovery time
    recovered = [r for r in slo["recovery"] if r["verdict"] != "not_applicable"]
    assert recovered and all(r["seconds"] is not None for r in recovered), slo["recovery"]
    errors = next(r for r in slo["recovery"] if r["name"] == "client-errors-recover")
    assert errors["verdict"] in ("pass", "warning"), errors
    residue = read(results, "residue.json")
    assert residue["clean"] is True
    assert_no_residue(local_target)


def test_database_outage_loses_no_order_and_reports_recovery_time(
    local_target: Any, repo_root: Path, tmp_path: Path
) -> None:
    results = tmp_path / "db"
    done = run_cli(
        ["database-outage", *SHORT, "--baseline", "5s", "--fault", "5s", "--recovery", "12s"],
        target=local_target, results=results, repo_root=repo_root,
    )
    assert done.returncode in (0, 1), done.stdout + done.stderr
    assert_complete_folder(results, with_experiment=True)
    run = read(results, "run.json")
    assert any("database" in f["action"] for f in run["faults"]), run["faults"]
    reconcile = read(results, "reconcile.json")
    assert reconcile["ok"] is True, reconcile["violations"]
    assert reconcile["acknowledged"] > 0
    slo = read(results, "slo.json")
    assert slo["integrity"]["verdict"] == "pass" and slo["integrity"]["lost"] == 0
    database = next(r for r in slo["recovery"] if r["name"] == "database-recover")
    assert database["seconds"] is not None and 0 <= database["seconds"] <= 30, database
    assert "recover" in (results / "report.html").read_text().lower()
    assert_no_residue(local_target)


def test_sigint_during_the_fault_rolls_back_and_keeps_the_results(
    local_target: Any, repo_root: Path, tmp_path: Path
) -> None:
    results = tmp_path / "interrupted"
    cmd = [sys.executable, "-m", "tradestorm", "run", "database-outage", *SHORT,
           "--baseline", "3s", "--fault", "60s", "--recovery", "10s",
           "--state-dir", str(local_target.state_dir), "--results", str(results)]
    log = (tmp_path / "interrupted.out").open("w")
    proc = subprocess.Popen(cmd, cwd=repo_root, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        wait_for_fault_phase(proc, results, tmp_path / "interrupted.out", deadline)
        # the live progress shows the outage (read from Prometheus) before we interrupt
        while "database down" not in (tmp_path / "interrupted.out").read_text():
            assert proc.poll() is None, (tmp_path / "interrupted.out").read_text()
            assert time.monotonic() < deadline + 30, "progress never showed the outage"
            time.sleep(0.3)
        proc.send_signal(signal.SIGINT)
        code = proc.wait(timeout=90)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        log.close()
    output = (tmp_path / "interrupted.out").read_text()
    assert code == 130, output
    run = read(results, "run.json")
    assert run["status"] == "interrupted", run
    fault = phase(run, "fault")
    assert fault["end"] - fault["start"] < 30  # cut short, not run to its planned 60 s
    assert (results / "chaos-journal.json").is_file()
    assert read(results, "residue.json")["clean"] is True
    assert (results / "report.html").is_file() and (results / "slo.json").is_file()
    assert "interrupted" in (results / "report.html").read_text().lower()
    assert read(results, "slo.json")["verdict"] != "pass"  # a cut-short run never passes
    assert no_locust_left(results) == []
    assert_no_residue(local_target)


def test_sigkill_of_the_cli_leaves_no_load_and_the_next_run_says_so(
    local_target: Any, repo_root: Path, tmp_path: Path
) -> None:
    """kill -9 of `tradestorm run` mid-fault: its Locust stops by itself (parent-death signal)
    and unregisters from Prometheus; `status` reports the fault still in force and the run
    left 'running'; the next run marks that run interrupted, with when it was found."""
    results = tmp_path / "killed"
    cmd = [sys.executable, "-m", "tradestorm", "run", "risk-latency", *SHORT,
           "--baseline", "3s", "--fault", "60s", "--recovery", "10s",
           "--state-dir", str(local_target.state_dir), "--results", str(results)]
    log = (tmp_path / "killed.out").open("w")
    proc = subprocess.Popen(cmd, cwd=repo_root, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for_fault_phase(proc, results, tmp_path / "killed.out", time.monotonic() + 90)
        time.sleep(2)
        assert no_locust_left(results), "the load runs while the run does"
        proc.kill()
        proc.wait()
    finally:
        log.close()
    # the load stops with its parent, gracefully: no orphan, no Prometheus target left
    end = time.monotonic() + 30
    while no_locust_left(results) and time.monotonic() < end:
        time.sleep(0.5)
    assert no_locust_left(results) == []
    targets = Path(local_target.state_dir) / "prometheus" / "targets"  # the load's file_sd
    assert not list(targets.glob("load-*.json"))
    assert json.loads((results / "run.json").read_text())["status"] == "running"
    status = subprocess.run([sys.executable, "-m", "tradestorm", "status", "--state-dir",
                             str(local_target.state_dir)], cwd=repo_root, capture_output=True,
                            text=True, timeout=60, env={**os.environ, "COLUMNS": "200"})
    assert status.returncode == 1, status.stdout
    assert "fault in force: latency" in status.stdout  # the killed run's fault, until it expires
    assert "was killed before it finished" in status.stdout
    subprocess.run([sys.executable, "-m", "tradestorm", "chaos", "clean", "--state-dir",
                    str(local_target.state_dir)], cwd=repo_root, capture_output=True,
                   timeout=120, check=False)
    nxt = run_cli(["steady-baseline", *SHORT, "--baseline", "3s"], target=local_target,
                  results=tmp_path / "next", repo_root=repo_root)
    assert "was killed before it finished" in nxt.stdout, nxt.stdout
    killed = json.loads((results / "run.json").read_text())
    assert killed["status"] == "interrupted"
    assert any("found at" in e and "by the next run" in e for e in killed["errors"])


def test_an_open_model_load_shows_the_stall_in_the_intended_latency_and_the_dropped_sends(
    local_target: Any, repo_root: Path, tmp_path: Path
) -> None:
    """Orders sent on a schedule (per-phase rates) while risk answers 2.5 s late: the orders
    the stall held back count from when they were due, and the sends the in-flight bound
    refused are counted, as a trader would have felt them."""
    scenario = tmp_path / "open-risk-latency.yaml"
    scenario.write_text(
        "description: open-model load through a risk stall\n"
        "load: {profile: ramping-arrival-rate, users: 8, seed: 5,\n"
        "       rates: {baseline: 4, fault: 6, recovery: 4}}\n"
        "experiment: risk-latency\n"
        "phases: {warmup: 3s, baseline: 6s, fault: 8s, recovery: 10s}\n")
    results = tmp_path / "open"
    done = run_cli([str(scenario), "--set", "latency_ms=2500", "--set", "jitter_ms=0"],
                   target=local_target, results=results, repo_root=repo_root)
    assert done.returncode in (0, 1), done.stdout + done.stderr
    run = read(results, "run.json")
    assert run["load"]["rates"] == {"baseline": 4, "fault": 6, "recovery": 4}
    sends = read(results, "sends.json")
    assert sends["model"] == "open" and sends["scheduled"] > 0
    # risk holds each order 2.5 s: 6 orders/s need ~15 in flight, the bound is 8
    assert sends["dropped"] > 0, sends
    slo = read(results, "slo.json")
    intended = objectives(slo, "client-intended-latency-p99[order-entry]")["fault"]
    assert intended["value"] is not None and intended["value"] >= 2.0, intended
    # the load sends orders only: reads and analytics are not applicable, not missing data
    # (which would leave every open-model run inconclusive)
    assert sends["route_classes"] == ["order-entry"]
    for name in ("client-latency-p99[reads]", "server-latency-p99[analytics]"):
        assert {o["verdict"] for o in objectives(slo, name).values()} == {"not_applicable"}
    assert not any(o["verdict"] == "no_data" for o in slo["objectives"]), [
        (o["name"], o["phase"], o["detail"]) for o in slo["objectives"]
        if o["verdict"] == "no_data"]
    from reports.latency_hdr import phase_latency
    from reports.results import load_results
    from reports.run_info import read_run_info

    folder = load_results(results)
    rows = {(r.phase, r.route_class): r for r in phase_latency(results, read_run_info(folder))}
    fault = rows[("fault", "order-entry")]
    assert fault.intended.percentiles[99.0] >= 2.5
    assert fault.intended.percentiles[99.0] >= fault.sent.percentiles[99.0]
    assert "dropped" in (results / "report.html").read_text()
    assert_no_residue(local_target)
