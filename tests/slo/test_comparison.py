"""Relative criteria: no more than N % worse than the last passing run of the same scenario."""

from __future__ import annotations

import json

import pytest
from slo_promdata import write_run
from slo_specs import LATENCY_OBJECTIVE, write_spec

from slo.gate import evaluate_run

RELATIVE = (
    LATENCY_OBJECTIVE.format(key="true")
    + """\
comparison:
  criteria:
    - objective: client-latency-p99
      phase: baseline
      maxWorsePct: 10
      warningPct: 5
"""
)


def _gate(tmp_path, known, root, name, case, started_offset, scenario="pod-kill-orders"):
    spec = write_spec(tmp_path, RELATIVE, case=case, name=f"{name}.yaml")
    folder = write_run(
        root / name, phases=known.phases(), prometheus_url=known.url, scenario=scenario
    )
    meta = json.loads((folder / "run.json").read_text())
    meta["started_at"] = known.base + started_offset  # runs are ordered by their start
    (folder / "run.json").write_text(json.dumps(meta))
    return evaluate_run(folder, spec=spec)


def test_p99_15_percent_worse_than_last_passing_run_fails(tmp_path, known):
    root = tmp_path / "results"
    first = _gate(tmp_path, known, root, "001-good", "good", -30)  # baseline p99 0.100
    assert first.verdict == "pass"
    assert first.comparison.items[0].verdict == "not_applicable"  # nothing earlier to compare with
    current = _gate(tmp_path, known, root, "002-prev", "prev", -10)  # baseline p99 0.115
    (item,) = current.comparison.items
    assert current.comparison.previous_run == str(root / "001-good")
    assert item.previous == pytest.approx(0.100) and item.current == pytest.approx(0.115)
    assert item.change_pct == pytest.approx(15.0)
    assert item.verdict == "fail"
    assert current.verdict == "warning"  # a non-key relative failure: score 75 -> warning
    saved = json.loads((root / "002-prev" / "slo.json").read_text())
    assert saved["comparison"]["items"][0]["change_pct"] == pytest.approx(15.0)


def test_reference_is_the_latest_passing_run_of_the_same_scenario(tmp_path, known):
    root = tmp_path / "results"
    _gate(tmp_path, known, root, "001-prev", "prev", -50)  # passes, baseline 0.115
    _gate(tmp_path, known, root, "002-other", "good", -40, scenario="db-outage")  # other scenario
    failed = _gate(tmp_path, known, root, "003-bad", "bad", -30)  # latest, but failed
    assert failed.verdict == "fail"
    current = _gate(tmp_path, known, root, "004-good", "good", -10)  # baseline 0.100
    assert current.comparison.previous_run == str(root / "001-prev")
    (item,) = current.comparison.items
    assert item.change_pct == pytest.approx(-100 * 0.015 / 0.115, abs=0.001)
    assert item.verdict == "pass"


def test_between_warning_and_limit_is_a_warning(tmp_path, known):
    root = tmp_path / "results"
    _gate(tmp_path, known, root, "001-good", "good", -30)
    spec_text = RELATIVE.replace("maxWorsePct: 10", "maxWorsePct: 20")
    spec = write_spec(tmp_path, spec_text, case="prev", name="loose.yaml")
    folder = write_run(root / "002", phases=known.phases(), prometheus_url=known.url)
    result = evaluate_run(folder, spec=spec)
    assert result.comparison.items[0].verdict == "warning"
