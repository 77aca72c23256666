"""Recovery time (exact to one sample interval) and HPA behaviour against known data."""

from __future__ import annotations

import pytest
from conftest import FAULT_END_OFFSET, RECOVERED_OFFSET
from slo_promdata import write_run
from slo_specs import write_spec

from slo.gate import evaluate_run

RECOVERY = """\
integrity: false
objectives: []
recovery:
  - name: errors-recover
    sli: errors
    op: "<="
    threshold: 0.01
    consecutive: {k}
    within: {within}
    warningAfter: {warning}
    key: true
"""


def _recovery_run(tmp_path, known, errors_case, k=3, within="30s", warning="5s", faults=None):
    spec = write_spec(
        tmp_path, RECOVERY.format(k=k, within=within, warning=warning), errors_case=errors_case
    )
    folder = write_run(
        tmp_path / f"run-{errors_case}-{k}-{within}",
        phases=known.phases(),
        faults=[known.fault()] if faults is None else faults,
        prometheus_url=known.url,
    )
    return evaluate_run(folder, spec=spec)


def test_recovery_time_is_exact_to_one_sample(tmp_path, known):
    result = _recovery_run(tmp_path, known, "rec")
    (item,) = result.recovery
    # errors were 0.5 until B+97 and 0.0 from B+98: the truth lies in (6.6 s, 7.6 s]
    true_latest = round(RECOVERED_OFFSET - FAULT_END_OFFSET, 3)
    assert true_latest - 1.0 < item.seconds <= true_latest
    assert item.recovered_at == pytest.approx(known.base + RECOVERED_OFFSET)
    assert item.fault_end == pytest.approx(known.base + FAULT_END_OFFSET)
    assert item.fault == "kill_replicas orders"
    # 7.6 s > warningAfter 5 s, within 30 s
    assert item.verdict == "warning"
    assert result.verdict == "warning" and result.exit_code == 0


def test_consecutive_samples_do_not_change_the_recovery_instant(tmp_path, known):
    k1 = _recovery_run(tmp_path, known, "rec", k=1).recovery[0]
    k10 = _recovery_run(tmp_path, known, "rec", k=10).recovery[0]
    assert k1.seconds == k10.seconds  # the streak's first sample is the recovery instant


def test_recovery_slower_than_objective_fails_key(tmp_path, known):
    result = _recovery_run(tmp_path, known, "rec", within="5s", warning="2s")
    assert result.recovery[0].verdict == "fail"
    assert result.verdict == "fail" and result.exit_code == 1


def test_never_recovering_fails_with_no_time(tmp_path, known):
    result = _recovery_run(tmp_path, known, "norec")
    (item,) = result.recovery
    assert item.verdict == "fail" and item.seconds is None and item.recovered_at is None
    assert "by the end of the run" in item.detail
    assert result.verdict == "fail"


def test_no_fault_means_recovery_not_applicable_never_passed(tmp_path, known):
    body = RECOVERY.format(k=3, within="30s", warning="5s").replace(
        "objectives: []",
        """objectives:
  - {name: lat, sli: latency, aggregate: max, op: "<=", phases: {baseline: {target: 1}}}""",
    )
    spec = write_spec(tmp_path, body, errors_case="rec")
    folder = write_run(
        tmp_path / "nofault",
        phases=[("baseline", known.base, known.base + 59)],
        prometheus_url=known.url,
    )
    result = evaluate_run(folder, spec=spec)
    assert result.recovery[0].verdict == "not_applicable"
    assert result.verdict == "pass"  # judged on the objective alone


def test_each_fault_gets_its_own_recovery(tmp_path, known):
    early = dict(known.fault(), end=known.base + 70, target="risk")
    result = _recovery_run(tmp_path, known, "rec", faults=[early, known.fault()])
    assert [r.fault for r in result.recovery] == ["kill_replicas risk", "kill_replicas orders"]
    # still failing at B+70, back at B+98: 28 s after the first fault ended
    assert result.recovery[0].seconds == pytest.approx(28, abs=1.0)
    assert result.recovery[1].seconds == pytest.approx(7.6, abs=1.0)


HPA = """\
integrity: false
objectives: []
hpa:
  - name: analytics-scales
    service: analytics
    scaleOutWithin: {within}
    maxReplicasHit: {max_hit}
    scaleIn: true
    maxFlaps: 0
    key: true
  - name: orders-stable
    service: orders
    scaleOutWithin: 60s
    maxFlaps: 1
"""


def _hpa_run(tmp_path, known, target, within="30s", max_hit="warn"):
    spec = write_spec(tmp_path, HPA.format(within=within, max_hit=max_hit))
    folder = write_run(
        tmp_path / f"hpa-{target}-{within}-{max_hit}",
        phases=known.phases(),
        faults=[known.fault(action="cpu_stress", target="analytics")],
        target=target,
        prometheus_url=known.url,
    )
    return evaluate_run(folder, spec=spec)


def test_hpa_scale_out_time_and_max_replicas(tmp_path, known):
    result = _hpa_run(tmp_path, known, "kubernetes")
    analytics, orders = result.hpa
    # the fault phase (the load step) starts at B+60; current replicas 2 -> 3 at B+83
    assert analytics.scale_out_seconds == pytest.approx(23, abs=1.0)
    assert analytics.max_replicas_hit is True and analytics.max_replicas == 5
    assert analytics.initial_replicas == 2 and analytics.peak_replicas == 5
    assert analytics.scaled_in is True
    assert analytics.flaps == 0
    assert analytics.verdict == "warning"  # max replicas hit, policy warn
    # orders: 2 -> 3 -> 2 -> 3 -> 2: one flap beyond scale-out-then-in
    assert orders.flaps == 1 and orders.max_replicas_hit is False
    assert orders.scale_out_seconds == pytest.approx(10, abs=1.0)
    assert orders.verdict == "pass"


def test_hpa_too_slow_or_capped_fails(tmp_path, known):
    slow = _hpa_run(tmp_path, known, "kubernetes", within="20s")
    assert slow.hpa[0].verdict == "fail" and "objective: within 20s" in slow.hpa[0].detail
    assert slow.verdict == "fail"
    capped = _hpa_run(tmp_path, known, "kubernetes", max_hit="fail")
    assert capped.hpa[0].verdict == "fail" and "maxReplicas" in capped.hpa[0].detail


def test_hpa_on_local_target_is_not_applicable_never_passed(tmp_path, known):
    result = _hpa_run(tmp_path, known, "local")
    assert {h.verdict for h in result.hpa} == {"not_applicable"}
    assert "local target has no HPA" in result.hpa[0].detail
    # nothing else to judge: not applicable alone never makes a pass
    assert result.verdict == "inconclusive" and result.exit_code == 2


def test_hpa_without_kube_state_metrics_is_no_data(tmp_path, known):
    spec = write_spec(
        tmp_path,
        HPA.format(within="30s", max_hit="warn").replace(
            "service: analytics", "service: marketdata"
        ),
    )
    folder = write_run(
        tmp_path / "hpa-missing",
        phases=known.phases(),
        target="kubernetes",
        prometheus_url=known.url,
    )
    result = evaluate_run(folder, spec=spec)
    assert result.hpa[0].verdict == "no_data"
    assert result.verdict == "inconclusive"


def test_hpa_check_bound_to_a_fault(tmp_path, known):
    body = HPA.format(within="30s", max_hit="warn").replace(
        "    service: analytics\n", "    service: analytics\n    fault: {action: cpu_stress}\n"
    )
    spec = write_spec(tmp_path, body)
    stressed = dict(known.fault(action="cpu_stress", target="analytics"), start=known.base + 70)
    folder = write_run(
        tmp_path / "bound",
        phases=known.phases(),
        faults=[stressed],
        target="kubernetes",
        prometheus_url=known.url,
    )
    # the load step is the fault's start (B+70), not the fault phase's (B+60)
    assert evaluate_run(folder, spec=spec).hpa[0].scale_out_seconds == pytest.approx(13, abs=1.0)
    other = write_run(
        tmp_path / "other",
        phases=known.phases(),
        faults=[known.fault()],
        target="kubernetes",
        prometheus_url=known.url,
    )
    analytics = evaluate_run(other, spec=spec).hpa[0]
    assert analytics.verdict == "not_applicable" and "no cpu_stress fault" in analytics.detail
