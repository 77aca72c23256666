"""Guardrails, the safety lever and the trading calendar, on the REAL local target.

Each run is the real ``tradestorm run`` in a subprocess (real load, real
database outage, real Prometheus) with short phases; what is asserted is what a
user sees: the exit code, the verdict, run.json's account of when and why the
fault was stopped, the rollbacks done and nothing left behind.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.runner.test_run_local import (
    SHORT,
    assert_no_residue,
    phase,
    read,
    run_cli,
    wait_for_fault_phase,
)

pytestmark = pytest.mark.slow

EXIT_ABORTED = 3
FOR_S = 3.0
INTERVAL_S = 1.0


@pytest.fixture(autouse=True)
def _heal_afterwards(local_target: Any) -> Any:
    yield
    local_target.heal()


def scenario(tmp_path: Path, *, guardrails: bool = True, fault: str = "40s",
             calendar: Path | None = None) -> Path:
    doc: dict[str, Any] = {
        "name": "guarded-database-outage",
        "description": "a database outage a client-error guardrail stops early",
        "targets": ["local"],
        "load": {"profile": "steady", "users": 6, "seed": 13},
        "experiment": "database-outage",
        "phases": {"warmup": "3s", "baseline": "6s", "fault": fault, "recovery": "8s"},
    }
    if guardrails:
        doc["guardrails"] = {"interval": f"{INTERVAL_S:g}s", "stop": [
            {"name": "client-errors", "query": "client:errors:ratio_rate10s", "above": 0.05,
             "for": f"{FOR_S:g}s"}]}
    if calendar is not None:
        doc["calendar"] = {"file": str(calendar), "venues": ["TEST"]}
    path = tmp_path / "guarded.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def midday_zone() -> tuple[str, dt.datetime]:
    """An Etc/GMT zone where it is about noon now (no window crosses midnight in a test)."""
    from zoneinfo import ZoneInfo

    offset = 12 - dt.datetime.now(dt.UTC).hour
    name = "UTC" if offset == 0 else f"Etc/GMT{'-' if offset > 0 else '+'}{abs(offset)}"
    return name, dt.datetime.now(ZoneInfo(name))


def calendar_file(tmp_path: Path, start: dt.datetime, end: dt.datetime, zone: str) -> Path:
    path = tmp_path / "calendar.yaml"
    path.write_text(yaml.safe_dump({"venues": {"TEST": {"timezone": zone, "sessions": [
        {"name": "continuous", "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
         "start": start.strftime("%H:%M:%S"), "end": end.strftime("%H:%M:%S")}]}}}))
    return path


def assert_stopped_early(run: dict[str, Any], kind: str, planned_fault_s: float) -> dict[str, Any]:
    trip = run["stages"]["guardrails"]["tripped"]
    assert trip is not None and trip["kind"] == kind, run["stages"]["guardrails"]
    assert run["status"] == "aborted" and run["verdict"] == "aborted"
    assert run["exit_code"] == EXIT_ABORTED
    fault = phase(run, "fault")
    assert fault["end"] - fault["start"] < planned_fault_s - 10, fault
    # the fault was removed within seconds of the trip, by the rollback path
    assert trip["fault_removed_at"] is not None
    assert 0 <= trip["fault_removed_at"] - trip["tripped_at"] <= 5, trip
    # the load went on and the recovery was still measured
    recovery = phase(run, "recovery")
    assert recovery["end"] - recovery["start"] >= 7.5
    assert run["faults"] and all(f.get("end") for f in run["faults"])
    assert run["experiment"]["residue_clean"] is True
    assert run["stages"]["fault_sweep"]["ok"] is True
    return trip


def test_client_error_guardrail_aborts_a_database_outage(
        local_target: Any, repo_root: Path, tmp_path: Path) -> None:
    results = tmp_path / "guarded"
    done = run_cli([str(scenario(tmp_path)), *SHORT], target=local_target, results=results,
                   repo_root=repo_root)
    assert done.returncode == EXIT_ABORTED, done.stdout + done.stderr
    assert "guardrail tripped" in done.stdout and "ABORTED" in done.stdout.upper()
    run = read(results, "run.json")
    trip = assert_stopped_early(run, "condition", 40)
    assert trip["name"] == "client-errors" and trip["value"] > 0.05
    assert trip["threshold"] == "> 0.05" and trip["for_s"] == FOR_S
    # tripped within its for: plus one evaluation interval of the condition becoming true
    held = trip["tripped_at"] - trip["condition_true_at"]
    assert FOR_S <= held <= FOR_S + INTERVAL_S + 0.5, trip
    slo = read(results, "slo.json")
    assert slo["verdict"] == "aborted" and slo["exit_code"] == EXIT_ABORTED
    assert any("client-errors" in r for r in slo["reasons"])
    assert 'type="aborted"' in (results / "junit.xml").read_text()
    report = (results / "report.html").read_text()
    assert "client-errors" in report and "guardrail" in report.lower()
    # the guardrail's own series beside its limit, charted with the trip marked
    series = {s["name"]: s for s in read(results, "timeseries.json")["series"]
              if s["panel"] == "guardrails"}
    assert set(series) == {"client-errors", "client-errors limit"}, series
    seen = [v for _, v in series["client-errors"]["points"] if v is not None]
    assert max(seen) > 0.05 and {v for _, v in series["client-errors limit"]["points"]} == {0.05}
    assert "Guardrails: each stop condition" in report and "guardrail tripped" in report
    assert [r for r in slo["recovery"] if r.get("seconds") is not None], slo["recovery"]
    assert_no_residue(local_target)


def test_lever_engaged_mid_fault_stops_the_run_and_refuses_the_next(
        local_target: Any, repo_root: Path, tmp_path: Path) -> None:
    results = tmp_path / "lever"
    out = tmp_path / "lever.out"
    path = scenario(tmp_path, guardrails=False)
    cmd = [sys.executable, "-m", "tradestorm", "run", str(path), *SHORT, "--state-dir",
           str(local_target.state_dir), "--results", str(results)]
    lever = [sys.executable, "-m", "tradestorm", "lever"]
    state = ["--state-dir", str(local_target.state_dir)]
    with out.open("w") as sink:
        proc = subprocess.Popen(cmd, cwd=repo_root, stdout=sink, stderr=subprocess.STDOUT,
                                env={**os.environ, "COLUMNS": "200"})
    try:
        wait_for_fault_phase(proc, results, out, time.monotonic() + 120)
        time.sleep(3)
        engaged = subprocess.run([*lever, "engage", "--reason", "venue incident",
                                  "--by", "sre-on-call", *state], cwd=repo_root,
                                 capture_output=True, text=True, timeout=30)
        assert engaged.returncode == 0, engaged.stderr
        assert proc.wait(timeout=120) == EXIT_ABORTED, out.read_text()
        run = read(results, "run.json")
        trip = assert_stopped_early(run, "lever", 40)
        assert "sre-on-call" in trip["reason"] and "venue incident" in trip["reason"]
        assert_no_residue(local_target)
        refused = run_cli([str(path), *SHORT], target=local_target,
                          results=tmp_path / "refused", repo_root=repo_root)
        assert refused.returncode == 2
        shown = refused.stdout + refused.stderr
        assert "lever" in shown and "sre-on-call" in shown and "venue incident" in shown
        assert not (tmp_path / "refused" / "run.json").exists()
        status = subprocess.run([*lever, "status", *state], cwd=repo_root, capture_output=True,
                                text=True, timeout=30)
        assert status.returncode == 1 and "ENGAGED" in status.stdout
    finally:
        if proc.poll() is None:
            proc.kill()
        subprocess.run([*lever, "release", *state], cwd=repo_root, timeout=30, check=True)
    status = subprocess.run([*lever, "status", *state], cwd=repo_root, capture_output=True,
                            text=True, timeout=30)
    assert status.returncode == 0 and "released" in status.stdout


def test_a_run_inside_a_protected_window_is_refused_before_any_fault(
        local_target: Any, repo_root: Path, tmp_path: Path) -> None:
    zone, now = midday_zone()
    cal = calendar_file(tmp_path, now - dt.timedelta(hours=1), now + dt.timedelta(hours=1), zone)
    results = tmp_path / "refused"
    done = run_cli([str(scenario(tmp_path, calendar=cal)), *SHORT], target=local_target,
                   results=results, repo_root=repo_root)
    assert done.returncode == 2, done.stdout + done.stderr
    shown = done.stdout + done.stderr
    assert "protected window" in shown and "TEST" in shown and "continuous" in shown
    assert not (results / "run.json").exists()
    # --allow-during-session lets it validate and would let it run: the option is accepted
    ok = subprocess.run([sys.executable, "-m", "tradestorm", "run",
                         str(scenario(tmp_path, calendar=cal)), "--validate"],
                        cwd=repo_root, capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0, ok.stdout + ok.stderr


def test_a_fault_crossing_into_a_protected_window_is_stopped(
        local_target: Any, repo_root: Path, tmp_path: Path) -> None:
    zone, now = midday_zone()
    # the window opens ~25 s from now: after warmup, baseline and the load's start
    start = now + dt.timedelta(seconds=25)
    cal = calendar_file(tmp_path, start, start + dt.timedelta(minutes=30), zone)
    results = tmp_path / "crossing"
    done = run_cli([str(scenario(tmp_path, guardrails=False, fault="60s", calendar=cal)),
                    *SHORT], target=local_target, results=results, repo_root=repo_root)
    run = read(results, "run.json")
    assert done.returncode == EXIT_ABORTED, done.stdout + done.stderr
    trip = assert_stopped_early(run, "calendar", 60)
    assert trip["name"] == "TEST continuous"
    assert run["stages"]["guardrails"]["calendar"]["file"] == str(cal)
    assert_no_residue(local_target)
