"""The previous run: one rule for the gate's relative criteria and the report."""

from __future__ import annotations

import json
from pathlib import Path

from runfolder.history import previous_run
from runfolder.record import RunRecord


def _run(root: Path, name: str, started: float, scenario: str = "pod-kill-orders",
         target: str = "local", verdict: str | None = None) -> Path:
    folder = root / name
    folder.mkdir()
    RunRecord(run_id=name, scenario=scenario, target=target, started_at=started,
              load={}, status="completed", ended_at=started + 60).write(folder)
    if verdict is not None:
        (folder / "slo.json").write_text(json.dumps({"verdict": verdict}))
    return folder


def test_the_latest_earlier_run_of_the_same_scenario_and_target(tmp_path):
    _run(tmp_path, "a", 100, verdict="pass")
    b = _run(tmp_path, "b", 200, verdict="fail")
    _run(tmp_path, "c-other-scenario", 250, scenario="database-outage", verdict="pass")
    _run(tmp_path, "d-other-target", 260, target="kubernetes", verdict="pass")
    _run(tmp_path, "e-later", 400, verdict="pass")
    (tmp_path / "f-broken").mkdir()
    (tmp_path / "f-broken" / "run.json").write_text("{not json")
    now = _run(tmp_path, "now", 300)
    found = previous_run(now, "pod-kill-orders", 300, "local")
    assert found is not None and found[0] == b and found[1].run_id == "b"
    passing = previous_run(now, "pod-kill-orders", 300, "local", passing_only=True)
    assert passing is not None and passing[0].name == "a"
    assert previous_run(tmp_path / "a", "pod-kill-orders", 100, "local") is None
