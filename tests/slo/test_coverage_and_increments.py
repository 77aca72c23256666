"""The coverage rule and phases counted on what happened in them, against a real
Prometheus loaded with known data (tests/slo/conftest.py)."""

from __future__ import annotations

import pytest
from conftest import FAULT_END_OFFSET, RECOVERY_OFFSET
from slo_promdata import RECONCILE_OK, write_run
from slo_specs import LATENCY_OBJECTIVE, write_spec

from slo.errors import SpecError
from slo.gate import evaluate_run
from slo.validation import load_spec


def _baseline(result):
    return next(o for o in result.objectives if o.phase == "baseline")


def test_a_hole_in_the_baseline_is_inconclusive_never_a_pass(tmp_path, known):
    spec = write_spec(tmp_path, LATENCY_OBJECTIVE.format(key="true"), case="hole")
    run = write_run(tmp_path / "run", phases=known.phases(), faults=[known.fault()],
                    prometheus_url=known.url)
    result = evaluate_run(run, spec=spec)
    baseline = _baseline(result)
    # the 30 samples left are all 0.10 (a pass), but they cover half the phase
    assert baseline.verdict == "no_data"
    assert baseline.coverage == pytest.approx(30 / 60, abs=0.025)
    # 30 s missing; the test Prometheus' 1 s lookback (its stand-in for staleness markers)
    # fills the first second
    assert 29 <= baseline.longest_hole_s <= 30
    assert "baseline phase" in baseline.detail
    assert f"longest hole is {baseline.longest_hole_s:g} s" in baseline.detail
    assert "needs 90%" in baseline.detail
    assert result.verdict == "inconclusive" and result.exit_code == 2
    # the phases without a hole are judged as before
    assert {o.phase: o.verdict for o in result.objectives if o.phase != "baseline"} == {
        "fault": "pass", "recovery": "pass"}


def test_an_objective_may_ask_for_less_coverage(tmp_path, known):
    body = LATENCY_OBJECTIVE.format(key="true").replace(
        "    key: true\n", "    key: true\n    coverage: 40%\n")
    spec = write_spec(tmp_path, body, case="hole")
    run = write_run(tmp_path / "run", phases=known.phases(), faults=[known.fault()],
                    prometheus_url=known.url)
    result = evaluate_run(run, spec=spec)
    assert _baseline(result).verdict == "pass" and result.verdict == "pass"


@pytest.mark.parametrize("value", ["120%", -5, "most", True])
def test_a_coverage_outside_0_to_100_percent_is_refused(tmp_path, value):
    body = LATENCY_OBJECTIVE.format(key="true") + f"coverage: {value!r}\n"
    spec = write_spec(tmp_path, body)
    with pytest.raises(SpecError) as caught:
        load_spec(spec)
    assert caught.value.field == "spec.coverage" and "percentage" in caught.value.problem


def test_errors_stopping_at_the_faults_end_leave_the_recovery_phase_clean(tmp_path, known):
    """The reference run's errors stop 2.6 s after its fault; here the fault is recorded as
    ending right then. Counted on per-scrape increments, recovery is within one scrape
    interval (1 s) of 0 and the recovery phase has none of the fault's errors, where a
    10 s trailing rate would still count them for 10 s."""
    r = known.ref
    fault_end = r + FAULT_END_OFFSET + RECOVERY_OFFSET
    phases = [("baseline", r, r + 60), ("fault", r + 60, fault_end),
              ("recovery", fault_end, r + 150)]
    fault = {**known.fault(start=r), "end": fault_end}
    run = write_run(tmp_path / "run", phases=phases, faults=[fault],
                    prometheus_url=known.url, reconcile=RECONCILE_OK)
    result = evaluate_run(run)
    recovery = {r.name: r for r in result.recovery}["client-errors-recover"]
    assert recovery.verdict == "pass"
    assert 0 <= recovery.seconds <= 1.0
    judged = {(o.name, o.phase): o for o in result.objectives}
    # free of the fault's errors to within one scrape interval: the samples are scraped
    # 1.4 s before their time (conftest LAG), and the scrape interval across the fault's end
    # is shared out in proportion of time; at most 0.4 errors/s of 20 requests/s leak in
    for name in ("client-availability", "server-availability",
                 "service-availability-worst-service"):
        value = judged[(name, "recovery")].value
        assert 1 - 0.4 / (20 * (r + 150 - fault_end)) <= value <= 1.0, name
    # the fault phase holds the failed requests: 2 % from its start to its end (to within
    # one scrape interval at each end)
    assert judged[("client-availability", "fault")].value == pytest.approx(0.98, abs=1e-3)


def test_recovery_is_where_the_errors_stopped_not_a_window_later(tmp_path, known):
    """The reference run: the fault ends at 90.4 s, the errors stop 2.6 s later."""
    r = known.ref
    run = write_run(tmp_path / "run", phases=known.phases(start=r),
                    faults=[known.fault(start=r)], prometheus_url=known.url,
                    reconcile=RECONCILE_OK)
    result = evaluate_run(run)
    recovery = {r.name: r for r in result.recovery}["client-errors-recover"]
    assert recovery.seconds == pytest.approx(RECOVERY_OFFSET, abs=1.0)
    assert recovery.recovered_at == pytest.approx(r + FAULT_END_OFFSET + RECOVERY_OFFSET,
                                                  abs=1.0)
    judged = {(o.name, o.phase): o for o in result.objectives}
    # 2.6 s of the 59.6 s recovery phase at 2 % errors (to within one scrape interval)
    expected = 1 - 0.02 * RECOVERY_OFFSET / (150 - FAULT_END_OFFSET)
    assert judged[("client-availability", "recovery")].value == pytest.approx(expected, abs=4e-4)
