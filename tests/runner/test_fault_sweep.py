"""The runner's fault sweep after the experiment, against the real local target.

A fault that outlives the experiment (a rollback that did not run, a chaos
process killed outright) is removed by the runner, recorded in the run's
``fault_sweep`` stage and fails the run, naming each fault; a target the sweep
cannot check fails the run too. The faults are put in place directly through
the target's control APIs, as a killed chaos process would leave them.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
from pathlib import Path
from typing import Any

import httpx
import pytest
from rich.console import Console

from tradestorm.runner import orchestrator as orch
from tradestorm.runner.connection import open_local
from tradestorm.runner.scenario import load_scenario
from tradestorm.targets import Connection


@pytest.fixture(autouse=True)
def _heal_afterwards(local_target: Any) -> Any:
    yield
    local_target.heal()


def _orchestrator(connection: Connection, tmp_path: Path) -> orch.Orchestrator:
    results = tmp_path / "results"
    results.mkdir()
    return orch.Orchestrator(load_scenario("risk-latency"), connection, results, "r1",
                             console=Console(file=open(os.devnull, "w")))  # noqa: SIM115


def _faults(target: Any) -> list[dict[str, Any]]:
    found = []
    for service in target.state["services"]:
        control = target.proxy_control_url(service)
        found += httpx.get(f"{control}/faults", timeout=5).json()["faults"]
    return found


def test_a_leftover_fault_is_removed_and_fails_the_run(local_target: Any, tmp_path: Path) -> None:
    o = _orchestrator(open_local(local_target.state_dir), tmp_path)  # while the target is healthy
    control = local_target.proxy_control_url("risk")
    fault = httpx.post(f"{control}/faults", timeout=5,
                       json={"kind": "latency", "latency_ms": 50, "duration_s": 300}).json()
    httpx.post(f"{local_target.supervisor_url}/database/stop", timeout=60).raise_for_status()

    o.wrapup.sweep_faults()

    assert _faults(local_target) == []
    database = httpx.get(f"{local_target.supervisor_url}/status", timeout=5).json()["database"]
    assert database["up"] is True
    stage = o.record.stages["fault_sweep"]
    assert stage["ok"] is False and stage["residue"] == [] and stage["problems"] == []
    assert stage["removed"] == [f"risk:latency:{fault['id']}", "database started"]
    assert o._status() == "failed"
    (reason,) = o.state.failed_reasons
    assert reason.startswith("fault_sweep: faults outlived the experiment")
    assert f"risk:latency:{fault['id']}" in reason and "database started" in reason
    o.state.save()
    record = json.loads((o.results_dir / "run.json").read_text())
    assert record["stages"]["fault_sweep"]["removed"] == stage["removed"]
    assert any(e.startswith("fault_sweep:") for e in record["errors"])


def test_a_clean_target_passes_the_sweep(local_target: Any, tmp_path: Path) -> None:
    o = _orchestrator(open_local(local_target.state_dir), tmp_path)
    o.wrapup.sweep_faults()
    assert o.record.stages["fault_sweep"] == {"removed": [], "residue": [], "problems": [],
                                              "ok": True}
    assert o.state.failed_reasons == []


def test_a_target_the_sweep_cannot_check_fails_the_run(local_target: Any, tmp_path: Path) -> None:
    # the same target, but one proxy's control API is gone from where state.json says it is
    state_dir = tmp_path / "state"
    state_dir.mkdir()
    state = json.loads((Path(local_target.state_dir) / "state.json").read_text())
    state["services"]["orders"]["proxy_control_url"] = "http://127.0.0.1:9"
    (state_dir / "state.json").write_text(json.dumps(state))
    connection = open_local(local_target.state_dir)
    connection.chaos_options["state_dir"] = state_dir
    connection.chaos_configuration["tradestorm_state_dir"] = str(state_dir)
    o = _orchestrator(connection, tmp_path)

    o.wrapup.sweep_faults()

    stage = o.record.stages["fault_sweep"]
    assert stage["ok"] is False and stage["problems"], stage
    assert "orders" in stage["problems"][0] or "127.0.0.1:9" in stage["problems"][0]
    (reason,) = o.state.failed_reasons
    assert "could not be checked for leftover faults" in reason
    shutil.rmtree(state_dir)


def test_the_sweep_is_not_cut_short_by_ctrl_c(local_target: Any, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    from tradestorm_chaos.drivers.local import LocalDriver

    # connected first: a target with a fault in force is refused for a run (not healthy)
    o = _orchestrator(open_local(local_target.state_dir), tmp_path)
    control = local_target.proxy_control_url("orders")
    httpx.post(f"{control}/faults", timeout=5,
               json={"kind": "latency", "latency_ms": 50, "duration_s": 300}).raise_for_status()
    remove_faults = LocalDriver.remove_faults

    def interrupted_remove(self: LocalDriver, service: str | None) -> list[str]:
        os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C in the middle of the sweep
        os.kill(os.getpid(), signal.SIGTERM)
        return remove_faults(self, service)

    monkeypatch.setattr(LocalDriver, "remove_faults", interrupted_remove)
    handlers = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    o.wrapup.sweep_faults()

    assert _faults(local_target) == []
    assert o.record.stages["fault_sweep"]["removed"][0].startswith("orders:latency:")
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == handlers
