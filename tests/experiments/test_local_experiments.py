"""The experiments, for real, against the real local target (issue 3's ``local_target``).

Real processes are killed, PostgreSQL really stops, the proxies really delay,
blackhole and refuse. Each test watches the fault *while it lasts* from the
outside (the experiment runs in a background thread), then checks that the
target is back as it was and that ``residue.json`` says so.
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest
from chaos_test_helpers import write_experiment
from tradestorm_chaos.execution import ExperimentOutcome, run_experiment

SERVICES = ("gateway", "orders", "risk", "portfolio", "marketdata", "analytics")


@pytest.fixture
def target(local_target: Any) -> Iterator[Any]:
    if not _looks_clean(local_target):
        local_target.heal()
    yield local_target
    if not _looks_clean(local_target):
        local_target.heal()  # whatever a failed test left, the next one starts clean


def _looks_clean(target: Any) -> bool:
    """No proxy fault, the database up, every replica ready (a cheap look before heal())."""
    try:
        status = supervisor_status(target)
        return (not all_faults(target) and status["database"]["up"] is True
                and all(s["ready"] == s["desired"] for s in status["services"].values()))
    except (httpx.HTTPError, KeyError):
        return False


def run_local(target: Any, experiment: Path, results: Path, **config: Any) -> ExperimentOutcome:
    return run_experiment(
        experiment, target="local", configuration={"tradestorm_residue_timeout_s": 30, **config},
        journal_path=results / "chaos-journal.json", residue_path=results / "residue.json",
        state_dir=target.state_dir, say=lambda _line: None)


class Background:
    """Run an experiment in a thread while the test observes the target."""

    def __init__(self, fn: Callable[[], ExperimentOutcome]) -> None:
        self.outcome: ExperimentOutcome | None = None
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(fn,), daemon=True)
        self._thread.start()

    def _run(self, fn: Callable[[], ExperimentOutcome]) -> None:
        try:
            self.outcome = fn()
        except BaseException as exc:  # reported by result()
            self.error = exc

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def result(self, timeout: float = 120) -> ExperimentOutcome:
        self._thread.join(timeout)
        assert not self._thread.is_alive(), "the experiment did not finish"
        if self.error is not None:
            raise self.error
        assert self.outcome is not None
        return self.outcome


def observe(check: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return True
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    return False


def invoke_cli(*args: str) -> Any:
    """The real ``tradestorm`` click application, in-process."""
    from click.testing import CliRunner

    from tradestorm.cli import cli

    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def proxy_url(target: Any, service: str) -> str:
    return str(target.state["services"][service]["proxy_url"])


def supervisor_status(target: Any) -> dict[str, Any]:
    return httpx.get(f"{target.supervisor_url}/status", timeout=5).json()


def all_faults(target: Any) -> list[dict[str, Any]]:
    found = []
    for service in (*SERVICES, "postgres"):
        found += httpx.get(f"{target.proxy_control_url(service)}/faults",
                           timeout=5).json()["faults"]
    return found


def assert_clean(target: Any, results: Path, outcome: ExperimentOutcome) -> None:
    assert outcome.residue_clean, outcome.to_dict()
    assert json.loads((results / "residue.json").read_text()) == {"clean": True, "items": []}
    assert all_faults(target) == []
    assert supervisor_status(target)["database"]["up"] is True


# ---------------------------------------------------------------------- faults


@pytest.mark.parametrize("service", SERVICES)
def test_pod_kill_kills_a_real_replica_which_the_target_replaces(
        service: str, target: Any, repo_experiments: Path, tmp_path: Path) -> None:
    restarts_before = supervisor_status(target)["services"][service]["restarts"]
    outcome = run_local(target, repo_experiments / f"pod-kill-{service}.yaml", tmp_path)
    assert outcome.status == "completed" and not outcome.deviated, outcome.to_dict()
    journal = json.loads((tmp_path / "chaos-journal.json").read_text())
    (kill,) = [r for r in journal["run"] if r["activity"]["name"].startswith("kill-one")]
    (victim,) = kill["output"]["killed"]
    assert victim["name"].startswith(f"{service}-")
    assert _gone(victim["pid"])
    status = supervisor_status(target)["services"][service]
    assert status["restarts"] == restarts_before + 1  # the supervisor replaced it
    assert status["ready"] == status["desired"] == 2
    assert [f["action"] for f in outcome.faults] == ["kill_replicas"]
    assert_clean(target, tmp_path, outcome)


def _gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def _readyz_ms(url: str) -> float:
    started = time.perf_counter()
    httpx.get(f"{url}/readyz", timeout=5).raise_for_status()
    return (time.perf_counter() - started) * 1000


def test_risk_latency_is_measurable_while_it_lasts_and_gone_after(
        target: Any, repo_experiments: Path, tmp_path: Path) -> None:
    risk = proxy_url(target, "risk")
    baseline = min(_readyz_ms(risk) for _ in range(3))
    run = Background(lambda: run_local(target, repo_experiments / "risk-latency.yaml", tmp_path,
                                       fault_duration_s=4, latency_ms=300, jitter_ms=20))
    assert observe(lambda: len(all_faults(target)) == 1, 20), "the fault never appeared"
    slowed = sorted(_readyz_ms(risk) for _ in range(3))
    outcome = run.result()
    assert slowed[1] >= 280, f"latency during the fault: {slowed} ms (baseline {baseline:.0f})"
    assert outcome.status == "completed", outcome.to_dict()
    after = min(_readyz_ms(risk) for _ in range(5))
    assert after < slowed[0] - 150, f"still slow after the fault: {after:.0f} ms vs {slowed}"
    (fault,) = outcome.faults
    assert fault["args"] == {"ms": 300, "jitter_ms": 20, "duration": 4.0}
    assert 3.9 <= fault["end"] - fault["start"] < 8
    assert_clean(target, tmp_path, outcome)


def test_database_outage_really_stops_postgres_then_starts_it(
        target: Any, repo_experiments: Path, tmp_path: Path) -> None:
    pid_before = supervisor_status(target)["database"]["pid"]
    port = int(target.state["postgres"]["port"])
    run = Background(lambda: run_local(target, repo_experiments / "database-outage.yaml",
                                       tmp_path, fault_duration_s=4))
    assert observe(lambda: supervisor_status(target)["database"]["up"] is False, 30)
    assert _gone(pid_before)  # the postgres process is really gone ...
    with pytest.raises(ConnectionRefusedError):  # ... and nothing listens on its port
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    outcome = run.result()
    assert outcome.status == "completed" and not outcome.deviated, outcome.to_dict()
    db = supervisor_status(target)["database"]
    assert db["up"] is True and psutil.pid_exists(db["pid"])
    assert_clean(target, tmp_path, outcome)


def test_marketdata_partition_hangs_connections_while_it_lasts(
        target: Any, repo_experiments: Path, tmp_path: Path) -> None:
    marketdata = proxy_url(target, "marketdata")
    run = Background(lambda: run_local(target, repo_experiments / "partition-marketdata.yaml",
                                       tmp_path, fault_duration_s=4))
    assert observe(lambda: len(all_faults(target)) == 1, 20)
    with pytest.raises(httpx.TimeoutException):
        httpx.get(f"{marketdata}/readyz", timeout=1)
    outcome = run.result()
    assert outcome.status == "completed", outcome.to_dict()
    assert httpx.get(f"{marketdata}/readyz", timeout=5).status_code == 200
    assert_clean(target, tmp_path, outcome)


def test_portfolio_outage_refuses_connections_then_fills_catch_up(
        target: Any, repo_experiments: Path, tmp_path: Path) -> None:
    portfolio = proxy_url(target, "portfolio")
    run = Background(lambda: run_local(target, repo_experiments / "portfolio-outage.yaml",
                                       tmp_path, fault_duration_s=3))
    assert observe(lambda: len(all_faults(target)) == 1, 20)
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{portfolio}/readyz", timeout=2)
    outcome = run.result()
    assert outcome.status == "completed" and not outcome.deviated, outcome.to_dict()
    journal = json.loads((tmp_path / "chaos-journal.json").read_text())
    after = {p["activity"]["name"]: p for p in journal["steady_states"]["after"]["probes"]}
    assert after["fills-caught-up"]["output"] is True  # the outbox probe asked Prometheus
    assert httpx.get(f"{portfolio}/readyz", timeout=5).status_code == 200
    assert_clean(target, tmp_path, outcome)


# ---------------------------------------------------------------------- safety


def test_sigint_in_the_middle_of_a_database_outage_rolls_back_and_leaves_nothing(
        target: Any, repo_experiments: Path, tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "tradestorm", "chaos", "run",
         str(repo_experiments / "database-outage.yaml"), "--state-dir", str(target.state_dir),
         "--results", str(tmp_path), "--config", "fault_duration_s=120"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert observe(lambda: supervisor_status(target)["database"]["up"] is False, 60), \
            "the database was never stopped"
        interrupted_at = time.monotonic()
        proc.send_signal(signal.SIGINT)
        output, _ = proc.communicate(timeout=90)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, output
    assert time.monotonic() - interrupted_at < 60  # it did not sit out the 120 s fault
    assert "status: interrupted" in output
    assert supervisor_status(target)["database"]["up"] is True
    residue = json.loads((tmp_path / "residue.json").read_text())
    assert residue == {"clean": True, "items": []}
    journal = json.loads((tmp_path / "chaos-journal.json").read_text())
    assert journal["status"] == "interrupted"
    assert journal["tradestorm"]["signal"] == "SIGINT"
    assert [r["activity"]["name"] for r in journal["rollbacks"]] == ["start-the-database"]


def test_sigterm_during_latency_removes_the_proxy_fault(
        target: Any, repo_experiments: Path, tmp_path: Path) -> None:
    """In-process this time: a real SIGTERM to this very process while the fault is held."""
    import os

    sent = threading.Event()

    def terminate_when_the_fault_is_in_place() -> None:
        if observe(lambda: len(all_faults(target)) == 1, 60):
            sent.set()
            os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=terminate_when_the_fault_is_in_place, daemon=True).start()
    started = time.monotonic()
    outcome = run_local(target, repo_experiments / "risk-latency.yaml", tmp_path,
                        fault_duration_s=120)
    assert sent.is_set(), "the fault never appeared"
    assert time.monotonic() - started < 60
    assert outcome.status == "interrupted" and outcome.signal == "SIGTERM"
    assert outcome.exit_code == 130
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL  # handlers given back
    assert_clean(target, tmp_path, outcome)


def test_a_target_with_a_fault_already_in_place_is_not_experimented_on(
        target: Any, repo_experiments: Path, tmp_path: Path) -> None:
    control = target.proxy_control_url("orders")
    httpx.post(f"{control}/faults", json={"kind": "latency", "latency_ms": 5, "duration_s": 60},
               timeout=5).raise_for_status()
    restarts = supervisor_status(target)["services"]["risk"]["restarts"]
    outcome = run_local(target, repo_experiments / "pod-kill-risk.yaml", tmp_path)
    assert outcome.status == "aborted" and outcome.exit_code == 2
    assert not outcome.residue_clean
    residue = json.loads((tmp_path / "residue.json").read_text())
    assert [(i["kind"], i["target"]) for i in residue["items"]] == [("proxy_fault", "orders")]
    assert supervisor_status(target)["services"]["risk"]["restarts"] == restarts  # untouched
    assert outcome.faults == []
    # what a chaos process killed with SIGKILL would leave: `tradestorm chaos clean` removes it
    httpx.post(f"{target.supervisor_url}/database/stop", timeout=60).raise_for_status()
    result = invoke_cli("chaos", "clean", "--state-dir", str(target.state_dir))
    assert result.exit_code == 0, result.stdout + result.stderr
    assert "removed: orders:latency:" in result.stdout
    assert "removed: database started" in result.stdout
    assert all_faults(target) == [] and supervisor_status(target)["database"]["up"] is True


def test_a_failed_action_fails_the_run_although_chaos_toolkit_says_completed(
        target: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # a value known only when the experiment runs (validation judges every other one)
    monkeypatch.setenv("TRADESTORM_TEST_TOO_MUCH", "10000000")
    path = write_experiment(tmp_path, method=[{
        "type": "action", "name": "impossible-latency", "provider": {
            "type": "python", "module": "tradestorm_chaos.actions", "func": "add_latency",
            "arguments": {"service": "risk", "ms": "${too_much}", "duration": 2}}}],
        rollbacks=[{"type": "action", "name": "clean", "provider": {
            "type": "python", "module": "tradestorm_chaos.actions", "func": "remove_faults",
            "arguments": {"service": "risk"}}}],
        configuration={"too_much": {"type": "env", "key": "TRADESTORM_TEST_TOO_MUCH"}})
    outcome = run_local(target, path, tmp_path)
    journal = json.loads((tmp_path / "chaos-journal.json").read_text())
    assert journal["tradestorm"]["chaostoolkit_status"] == "completed"  # Chaos Toolkit's view
    assert outcome.status == "failed" and outcome.exit_code == 1
    assert any("impossible-latency" in f and "ms must be" in f for f in outcome.failed_activities)
    assert journal["rollbacks"][0]["status"] == "succeeded"  # rollbacks ran anyway
    assert_clean(target, tmp_path, outcome)


def test_a_deviation_is_reported_and_the_rollbacks_still_run(
        target: Any, tmp_path: Path) -> None:
    """The hypothesis is an SLO probe on real Prometheus: "no proxy fault in the last 4 s"."""
    no_fault = {"type": "probe", "name": "no-fault-lately", "tolerance": True, "provider": {
        "type": "python", "module": "tradestorm_chaos.probes", "func": "slo_holds",
        "arguments": {"query": "sum(tradestorm_proxy_faults_active) or vector(0)", "op": "==",
                      "threshold": 0, "window": 4, "aggregate": "max"}}}
    path = write_experiment(tmp_path, probes=[no_fault], method=[{
        "type": "action", "name": "blackhole-analytics", "provider": {
            "type": "python", "module": "tradestorm_chaos.actions", "func": "partition",
            "arguments": {"service": "analytics", "duration": 2}}}],
        rollbacks=[{"type": "action", "name": "heal", "provider": {
            "type": "python", "module": "tradestorm_chaos.actions", "func": "remove_faults",
            "arguments": {"service": "analytics"}}}])
    assert observe(lambda: _slo_quiet(target), 30), "faults of a previous test still visible"
    outcome = run_local(target, path, tmp_path)
    assert outcome.status == "completed" and outcome.deviated, outcome.to_dict()
    assert outcome.exit_code == 1
    journal = json.loads((tmp_path / "chaos-journal.json").read_text())
    assert journal["steady_states"]["before"]["steady_state_met"] is True
    assert journal["steady_states"]["after"]["steady_state_met"] is False
    assert journal["rollbacks"][0]["status"] == "succeeded"
    assert_clean(target, tmp_path, outcome)


def _slo_quiet(target: Any) -> bool:
    answer = httpx.get(f"{target.prometheus_url}/api/v1/query", timeout=5, params={
        "query": "max_over_time((sum(tradestorm_proxy_faults_active) or vector(0))[5s:1s])"})
    result = answer.json()["data"]["result"]
    return bool(result) and float(result[0]["value"][1]) == 0


def test_an_slo_probe_without_data_is_never_a_pass(target: Any, tmp_path: Path) -> None:
    probe = {"type": "probe", "name": "no-such-metric", "tolerance": True, "provider": {
        "type": "python", "module": "tradestorm_chaos.probes", "func": "slo_holds",
        "arguments": {"query": "tradestorm_no_such_metric_total", "op": "<=", "threshold": 1,
                      "window": 5}}}
    path = write_experiment(tmp_path, probes=[probe], method=[{
        "type": "action", "name": "kill-one", "provider": {
            "type": "python", "module": "tradestorm_chaos.actions", "func": "kill_replicas",
            "arguments": {"service": "analytics", "count": 1}}}])
    restarts = supervisor_status(target)["services"]["analytics"]["restarts"]
    outcome = run_local(target, path, tmp_path)
    assert outcome.status == "aborted" and outcome.exit_code == 2
    journal = json.loads((tmp_path / "chaos-journal.json").read_text())
    (probe_run,) = journal["steady_states"]["before"]["probes"]
    assert probe_run["status"] == "failed" and "no data" in probe_run["exception"][-1]
    assert supervisor_status(target)["services"]["analytics"]["restarts"] == restarts


def test_dry_run_on_the_local_target_changes_nothing(
        target: Any, repo_experiments: Path, tmp_path: Path) -> None:
    before = supervisor_status(target)
    result = invoke_cli("chaos", "run", str(repo_experiments / "pod-kill-orders.yaml"),
                        "--dry-run", "--state-dir", str(target.state_dir),
                        "--results", str(tmp_path))
    assert result.exit_code == 0, result.stderr
    assert f"[dry-run] would POST {target.supervisor_url}/services/orders/kill" in result.stderr
    after = supervisor_status(target)
    assert [s["restarts"] for s in after["services"].values()] == \
        [s["restarts"] for s in before["services"].values()]
    assert all_faults(target) == []


def test_the_slo_probe_judges_an_objective_of_the_shipped_spec(
        target: Any, repo_root: Path) -> None:
    from tradestorm_chaos import probes
    from tradestorm_chaos.session import end_session, new_session

    spec = str(repo_root / "slo" / "specs" / "reference-platform.yaml")
    conf = {"tradestorm_target": "local", "tradestorm_state_dir": str(target.state_dir)}
    session = new_session()
    try:
        # the outbox lag SLI exists without load (an idle outbox has no lag)
        assert probes.slo_holds(objective="outbox-lag", spec=spec, phase="baseline", window=10,
                                configuration=conf) is True
        with pytest.raises(ValueError, match="no objective 'outbox-lagg'"):
            probes.slo_holds(objective="outbox-lagg", spec=spec, configuration=conf)
        with pytest.raises(ValueError, match="no criteria for phase 'fault'"):
            probes.slo_holds(objective="outbox-lag", spec=spec, phase="fault",
                             configuration=conf)
    finally:
        end_session(session)
