"""Relative objectives: a phase against the run's own baseline, with a bootstrap interval,
against a real Prometheus loaded with known data."""

from __future__ import annotations

import pytest
from slo_promdata import write_run
from slo_specs import write_spec

from slo.errors import SpecError
from slo.gate import evaluate_run
from slo.validation import load_spec

RELATIVE = """\
integrity: false
objectives:
  - name: p99-vs-baseline
    sli: latency
    aggregate: p95
    op: "<="
    relativeTo: baseline
    phases:
      fault: {target: 3.0, warning: 2.0}
      recovery: {target: 1.5}
"""


def _judge(tmp_path, known, case):
    spec = write_spec(tmp_path, RELATIVE, case=case)
    run = write_run(tmp_path / case, phases=known.phases(), faults=[known.fault()],
                    prometheus_url=known.url)
    return {o.phase: o for o in evaluate_run(run, spec=spec).objectives}


def test_a_noisy_but_healthy_run_passes(tmp_path, known):
    judged = _judge(tmp_path, known, "noisy")
    for phase in ("fault", "recovery"):
        o = judged[phase]
        assert o.verdict == "pass", o.detail
        lo, hi = o.interval
        assert lo <= o.value <= hi and lo < 1.0 < hi  # the noise, not a change
        assert o.relative_to == "baseline" and o.unit == "×"


def test_a_degraded_fault_phase_fails_beyond_the_noise(tmp_path, known):
    """Case "good": p99 0.10 s in the baseline, 0.40 s in the fault, 0.12 s after it."""
    judged = _judge(tmp_path, known, "good")
    fault = judged["fault"]
    assert fault.verdict == "fail"
    assert fault.value == pytest.approx(4.0)
    assert fault.reference_value == pytest.approx(0.10)
    assert fault.interval[0] > 3.0  # the whole interval misses the target
    assert "the baseline's" in fault.detail and "95% interval" in fault.detail
    assert judged["recovery"].verdict == "pass"
    assert judged["recovery"].value == pytest.approx(1.2)


@pytest.mark.parametrize(("change", "field", "problem"), [
    ("relativeTo: baseline", "spec.objectives[0].phases.baseline", "relative to itself"),
    ("relativeTo: warm-up", "spec.objectives[0].relativeTo", "expected one of"),
])
def test_a_relative_objective_with_a_bad_phase_is_refused(tmp_path, change, field, problem):
    body = f"""\
integrity: false
objectives:
  - name: p99-vs-baseline
    sli: latency
    aggregate: p95
    op: "<="
    {change}
    phases:
      baseline: {{target: 3.0}}
"""
    with pytest.raises(SpecError) as caught:
        load_spec(write_spec(tmp_path, body))
    assert caught.value.field == field and problem in caught.value.problem


def test_a_relative_objective_needs_a_threshold_sli(tmp_path):
    body = """\
integrity: false
objectives:
  - name: availability-vs-baseline
    sli: availability
    op: ">="
    relativeTo: baseline
    phases:
      fault: {target: 0.9}
"""
    with pytest.raises(SpecError) as caught:
        load_spec(write_spec(tmp_path, body))
    assert caught.value.field == "spec.objectives[0].relativeTo"
    assert "threshold SLI" in caught.value.problem
