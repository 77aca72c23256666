"""The orchestrator's wrap-up and exit codes, with the target's parts stubbed out.

The real target runs are in test_run_local.py; these cases need a signal or a
stage failure at one exact moment, which a real run cannot place.
"""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from rich.console import Console

from tradestorm.commands import run as run_cmd
from tradestorm.runner import orchestrator as orch
from tradestorm.runner.scenario import load_scenario
from tradestorm.targets import Connection, Scope


def _orchestrator(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> orch.Orchestrator:
    def no_load(*_: Any) -> Any:
        raise AssertionError("these tests start no load")

    conn = Connection(target="local", prometheus_url="http://127.0.0.1:9", dsn="",
                      gateway_url="http://127.0.0.1:1", scope=Scope(), chaos_configuration={},
                      chaos_options={"target": "local", "state_dir": tmp_path},
                      start_load=no_load, state_dir=tmp_path)
    monkeypatch.setattr(orch.versions_mod, "collect_versions", lambda *a, **k: {})
    results = tmp_path / "results"
    results.mkdir()
    return orch.Orchestrator(load_scenario("steady-baseline"), conn, results, "r1",
                             console=Console(file=open(os.devnull, "w")))  # noqa: SIM115


def _status(results: Path) -> dict[str, Any]:
    return json.loads((results / "run.json").read_text())


def test_the_gate_judges_the_stages_the_run_recorded_and_the_run_keeps_its_verdict(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The runner does not override the gate (slo/verdict.py owns the run's checks): it saves
    run.json with every stage before the gate reads it, and takes the gate's verdict as is."""
    o = _orchestrator(tmp_path, monkeypatch)
    o.state.fail("load", "the load generator exited with 1")
    seen: dict[str, Any] = {}

    def gate(results_dir: Path, **_: Any) -> SimpleNamespace:
        seen.update(_status(results_dir))
        return SimpleNamespace(verdict="error", exit_code=2, reasons=["a stage failed"])

    monkeypatch.setattr("slo.gate.evaluate_run", gate)
    o.wrapup.gate()
    assert seen["stages"]["load"] == {"ok": False, "error": "the load generator exited with 1"}
    assert seen["status"] == "failed"
    outcome = o._finish()
    assert (outcome.verdict, outcome.exit_code) == ("error", 2)
    saved = _status(o.results_dir)
    assert (saved["verdict"], saved["exit_code"]) == ("error", 2)


def test_second_interrupt_during_the_wrap_up_still_sweeps_and_records(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    o = _orchestrator(tmp_path, monkeypatch)
    done: list[str] = []

    def phases() -> None:
        o.state.begin_phase("baseline", 60)
        raise KeyboardInterrupt  # the first Ctrl-C

    def stop_load() -> None:
        os.kill(os.getpid(), signal.SIGINT)  # the second Ctrl-C, between the cleanups
        done.append("load")

    monkeypatch.setattr(o, "_run_phases", phases)
    monkeypatch.setattr(o.load, "stop", stop_load)
    monkeypatch.setattr(o.wrapup, "sweep_faults", lambda: done.append("sweep"))
    for stage in ("reconcile", "timeseries", "gate", "report"):
        monkeypatch.setattr(o.wrapup, stage, lambda: None)
    outcome = o.run()
    assert done == ["load", "sweep"]
    assert outcome.exit_code == 130
    record = _status(o.results_dir)
    assert record["status"] == "interrupted"
    # the open phase ends at the (first) interruption
    assert record["phases"][0]["end"] == pytest.approx(record["interrupted_at"])


def test_ctrl_c_before_the_orchestrator_exits_130(monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted(*_a: Any, **_k: Any) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("tradestorm.runner.scenario.load_scenario", interrupted)
    code = run_cmd.execute("steady-baseline", console=Console(file=open(os.devnull, "w")))  # noqa: SIM115
    assert code == 130
