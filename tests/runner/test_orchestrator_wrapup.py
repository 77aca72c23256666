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


@pytest.mark.parametrize(
    ("gate", "reconcile_ok", "expected"),
    [
        (("fail", 1), None, 1),  # a proven failure stays a failure
        (("pass", 0), False, 1),  # reconcile found lost orders
        (("pass", 0), True, 2),  # would pass, but the run did not do what was asked
    ],
)
def test_stage_failure_makes_only_a_passing_verdict_an_error(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, gate: tuple[str, int],
        reconcile_ok: bool | None, expected: int) -> None:
    o = _orchestrator(tmp_path, monkeypatch)
    o._fail("load", "the load generator exited with 1")
    o.gate = SimpleNamespace(verdict=gate[0], exit_code=gate[1])
    o.reconcile_ok = reconcile_ok
    outcome = o._finish()
    assert outcome.exit_code == expected
    assert _status(o.results_dir)["exit_code"] == expected


def test_second_interrupt_during_the_wrap_up_still_sweeps_and_records(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    o = _orchestrator(tmp_path, monkeypatch)
    done: list[str] = []

    def phases() -> None:
        o._begin_phase("baseline", 60)
        raise KeyboardInterrupt  # the first Ctrl-C

    def stop_load() -> None:
        os.kill(os.getpid(), signal.SIGINT)  # the second Ctrl-C, between the cleanups
        done.append("load")

    monkeypatch.setattr(o, "_run_phases", phases)
    monkeypatch.setattr(o, "_stop_load", stop_load)
    monkeypatch.setattr(o, "_sweep_faults", lambda: done.append("sweep"))
    for stage in ("_reconcile", "_timeseries", "_gate", "_report"):
        monkeypatch.setattr(o, stage, lambda: None)
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
