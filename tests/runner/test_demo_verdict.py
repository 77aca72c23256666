"""The demo's verdict line says whether the baseline held and which objectives the fault
broke, naming the route class (slo/broken.py, printed by ``tradestorm demo``)."""

from __future__ import annotations

import io
import json
from pathlib import Path
from types import SimpleNamespace

from rich.console import Console

from slo.broken import fault_summary
from tradestorm.commands.run import _print_outcome


def _o(name: str, phase: str, verdict: str) -> dict:
    return {"name": name, "phase": phase, "verdict": verdict}


def _slo(**overrides: object) -> dict:
    objectives = []
    for phase in ("baseline", "fault", "recovery", "run"):
        objectives += [
            _o("client-availability", phase, "pass"),
            _o("client-latency-p99[order-entry]", phase, "fail" if phase == "fault" else "pass"),
            _o("client-latency-p99[analytics]", phase, "warning" if phase == "fault" else "pass"),
            _o("client-latency-p99[reads]", phase, "pass"),
        ]
    doc = {"objectives": objectives,
           "recovery": [{"name": "client-errors-recover", "verdict": "pass", "seconds": 3.0}],
           "integrity": {"verdict": "pass", "lost": 0}}
    doc.update(overrides)
    return doc


def test_a_held_baseline_and_what_the_fault_broke() -> None:
    line = fault_summary(_slo())
    assert line == ("baseline held (4 objectives passed); the fault broke: "
                    "client-latency-p99[order-entry] in fault "
                    "(warnings: client-latency-p99[analytics] in fault)")


def test_a_slow_recovery_and_lost_orders_are_named_too() -> None:
    line = fault_summary(_slo(
        recovery=[{"name": "client-errors-recover", "verdict": "fail", "seconds": None}],
        integrity={"verdict": "fail", "lost": 3}))
    assert "client-errors-recover (not recovered)" in line
    assert "integrity (3 orders lost)" in line


def test_a_baseline_that_failed_is_said_first_and_not_blamed_on_the_fault() -> None:
    doc = _slo()
    for o in doc["objectives"]:
        if o["name"] == "client-latency-p99[reads]":
            o["verdict"] = "fail"
    line = fault_summary(doc)
    assert line.startswith("baseline did NOT hold (1 of 4 objectives failed before the fault: "
                           "client-latency-p99[reads])")
    broke = line.split("the fault broke: ", 1)[1]
    assert "client-latency-p99[order-entry] in fault" in broke
    assert "[reads]" not in broke


def test_nothing_broken_says_so() -> None:
    doc = _slo()
    for o in doc["objectives"]:
        o["verdict"] = "pass"
    assert fault_summary(doc).endswith("; the fault broke no objective")


def test_the_demos_verdict_line_names_the_route_class(tmp_path: Path) -> None:
    (tmp_path / "slo.json").write_text(json.dumps(_slo()))
    console = Console(file=io.StringIO(), width=300, color_system=None)
    outcome = SimpleNamespace(verdict="fail", status="completed", exit_code=1, reasons=[],
                              results_dir=tmp_path, report=None)
    _print_outcome(console, outcome, fault_line=True)
    verdict = console.file.getvalue().splitlines()[0]
    assert verdict.startswith("verdict: FAIL  (run completed, exit code 1); baseline held")
    # the [order-entry] of the name is text, not console markup
    assert "the fault broke: client-latency-p99[order-entry] in fault" in verdict
    plain = Console(file=io.StringIO(), width=300, color_system=None)
    _print_outcome(plain, outcome)  # `tradestorm run`: the verdict line as before
    assert plain.file.getvalue().splitlines()[0] == \
        "verdict: FAIL  (run completed, exit code 1)"
