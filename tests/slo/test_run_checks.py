"""One verdict: the run's own checks (run.json's experiment and stages) are items of the
gate's verdict, so slo.json, junit.xml, the console, the HTML report and a later
``tradestorm gate RESULTS_DIR`` all say the same thing. Judged against a real Prometheus
loaded with a healthy run (tests/slo/conftest.py, ``reference_run``)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

from slo_promdata import RECONCILE_OK, write_run

from reports.build import build_report
from slo.gate import evaluate_run


def _healthy(tmp_path: Path, known, name: str, **run_fields) -> Path:
    folder = write_run(tmp_path / name, phases=known.phases(start=known.ref),
                       faults=[known.fault(start=known.ref)], prometheus_url=known.url,
                       reconcile=RECONCILE_OK)
    run = json.loads((folder / "run.json").read_text())
    run.update(run_fields)
    (folder / "run.json").write_text(json.dumps(run))
    return folder


def _cli_gate(folder: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, COLUMNS="160", NO_COLOR="1")
    return subprocess.run([sys.executable, "-m", "tradestorm", "gate", str(folder)],
                          capture_output=True, text=True, timeout=60, env=env)


def test_the_same_run_passes_without_the_deviation(tmp_path, known):
    folder = _healthy(tmp_path, known, "held", experiment={"status": "completed",
                                                          "deviated": False})
    result = evaluate_run(folder)
    assert result.verdict == "pass", result.reasons
    assert [(c.name, c.verdict) for c in result.run_checks] == [
        ("steady-state hypothesis", "pass")]


def test_a_deviated_hypothesis_fails_every_output(tmp_path, known):
    folder = _healthy(tmp_path, known, "deviated", experiment={"status": "completed",
                                                              "deviated": True})
    result = evaluate_run(folder)
    # every objective passes; the deviation alone fails the run
    assert {o.verdict for o in result.objectives} <= {"pass", "not_applicable"}
    assert result.verdict == "fail" and result.exit_code == 1
    assert any("steady-state hypothesis" in r for r in result.reasons)
    saved = json.loads((folder / "slo.json").read_text())
    assert saved["verdict"] == "fail" and saved["exit_code"] == 1
    assert saved["run_checks"][0]["name"] == "steady-state hypothesis"
    junit = ET.parse(folder / "junit.xml").getroot()
    failed = [c.get("name") for c in junit.iter("testcase") if c.find("failure") is not None]
    assert "steady-state hypothesis [run]" in failed
    report = build_report(folder).read_text(encoding="utf-8")
    assert re.search(r'<div class="big">\s*fail\s*</div>', report)
    assert "steady-state hypothesis" in report
    # judged again later, from the saved folder: the same verdict
    again = _cli_gate(folder)
    assert again.returncode == 1, again.stdout + again.stderr
    assert "verdict: FAIL" in again.stdout and "steady-state hypothesis" in again.stdout


def test_a_failed_stage_makes_a_passing_run_an_error(tmp_path, known):
    folder = _healthy(tmp_path, known, "broken-load", status="failed", stages={
        "load": {"ok": False, "error": "the load master ignored the stop and was killed"},
        "reconcile": {"ok": True}})
    result = evaluate_run(folder)
    assert result.verdict == "error" and result.exit_code == 2
    assert "the load master ignored the stop" in " ".join(result.reasons)
    again = _cli_gate(folder)
    assert again.returncode == 2 and "verdict: error" in again.stdout


def test_a_proven_failure_stands_beside_a_failed_stage(tmp_path, known):
    folder = _healthy(tmp_path, known, "lost-and-broken", status="failed", stages={
        "timeseries": {"ok": False, "error": "Prometheus went away"}})
    lost = {**RECONCILE_OK, "ok": False, "checks": [
        {"name": "acknowledged_orders_present", "ok": False, "violations": 3,
         "detail": "3 acknowledged orders are not in the database"}]}
    (folder / "reconcile.json").write_text(json.dumps(lost))
    result = evaluate_run(folder)
    assert result.verdict == "fail" and result.exit_code == 1
