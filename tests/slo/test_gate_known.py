# ruff: noqa: E501  (inline YAML)
"""Known-answer gate cases against a real Prometheus loaded with known data."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest
from slo_promdata import RECONCILE_OK, free_port, write_run
from slo_specs import LATENCY_OBJECTIVE, write_spec

from slo.errors import SpecError
from slo.gate import evaluate_run


def _run(tmp_path, known, name="run", **kwargs):
    kwargs.setdefault("prometheus_url", known.url)
    return write_run(tmp_path / name, phases=known.phases(), faults=[known.fault()], **kwargs)


def _objective(result, name, phase):
    return next(o for o in result.objectives if o.name == name and o.phase == phase)


def test_pass_per_phase_with_exact_values(tmp_path, known):
    spec = write_spec(tmp_path, LATENCY_OBJECTIVE.format(key="true"), case="good")
    result = evaluate_run(_run(tmp_path, known), spec=spec)
    assert result.verdict == "pass" and result.exit_code == 0
    assert result.score == 100.0
    values = {o.phase: o.value for o in result.objectives}
    assert values == {
        "baseline": pytest.approx(0.10),
        "fault": pytest.approx(0.40),
        "recovery": pytest.approx(0.12),
    }
    # the fault phase is judged against its own, looser criteria (0.40 <= warning 0.5)
    assert _objective(result, "client-latency-p99", "fault").verdict == "pass"
    saved = json.loads((tmp_path / "run" / "slo.json").read_text())
    assert saved["verdict"] == "pass" and saved["exit_code"] == 0
    assert saved["window"] == {"start": known.base, "end": known.base + 150}
    first = saved["objectives"][0]
    for key in (
        "name",
        "description",
        "phase",
        "side",
        "query",
        "value",
        "unit",
        "op",
        "target",
        "warning",
        "verdict",
        "key",
        "weight",
        "detail",
    ):
        assert key in first
    assert first["side"] == "client" and first["unit"] == "s" and first["op"] == "<="


def test_fault_phase_failure_of_key_objective_fails_the_run(tmp_path, known):
    spec = write_spec(tmp_path, LATENCY_OBJECTIVE.format(key="true"), case="bad")
    result = evaluate_run(_run(tmp_path, known), spec=spec)
    fault = _objective(result, "client-latency-p99", "fault")
    assert fault.verdict == "fail" and fault.value == pytest.approx(1.5)
    assert _objective(result, "client-latency-p99", "baseline").verdict == "pass"
    assert result.verdict == "fail" and result.exit_code == 1
    assert any("key objective failed: client-latency-p99 [fault]" in r for r in result.reasons)
    junit = ET.parse(tmp_path / "run" / "junit.xml").getroot()
    failed = {
        case.get("name"): case.find("failure")
        for case in junit.iter("testcase")
        if case.find("failure") is not None
    }
    assert set(failed) == {"verdict", "client-latency-p99 [fault]"}
    assert "1.5" in failed["client-latency-p99 [fault]"].get("message")
    assert "key objective failed" in failed["verdict"].get("message")


def test_same_failure_of_non_key_objective_is_scored(tmp_path, known):
    body = LATENCY_OBJECTIVE.format(key="false")
    result = evaluate_run(_run(tmp_path, known), spec=write_spec(tmp_path, body, case="bad"))
    # 2 of 3 phases pass: score 66.7 < warning threshold 75 -> fail by score, not by key
    assert result.score == pytest.approx(200 / 3)
    assert result.verdict == "fail" and result.exit_code == 1
    assert any("below 75" in r for r in result.reasons)


def test_warning_passes_the_gate_and_says_so(tmp_path, known):
    spec = write_spec(tmp_path, LATENCY_OBJECTIVE.format(key="true"), case="warn")
    result = evaluate_run(_run(tmp_path, known), spec=spec)
    baseline = _objective(result, "client-latency-p99", "baseline")
    assert baseline.verdict == "warning" and baseline.value == pytest.approx(0.22)
    assert result.score == pytest.approx(100 * 2.75 / 3)
    assert result.verdict == "warning" and result.exit_code == 0
    junit = ET.parse(tmp_path / "run" / "junit.xml").getroot()
    assert not junit.findall(".//failure") and not junit.findall(".//error")
    outs = [e.text for e in junit.findall(".//system-out")]
    assert any(text.startswith("WARNING:") for text in outs)


def test_non_key_failure_with_high_score_is_a_warning_not_a_pass(tmp_path, known):
    body = (
        LATENCY_OBJECTIVE.format(key="true")
        + """\
  - name: errors-in-fault
    sli: errors
    aggregate: max
    op: "<="
    weight: 0.1
    phases: {fault: {target: 0.1}}
"""
    )
    result = evaluate_run(_run(tmp_path, known), spec=write_spec(tmp_path, body, case="good"))
    assert _objective(result, "errors-in-fault", "fault").verdict == "fail"
    assert result.score > 90
    assert result.verdict == "warning" and result.exit_code == 0
    assert any("errors-in-fault [fault]" in r for r in result.reasons)


def test_no_data_is_inconclusive_never_a_pass(tmp_path, known):
    spec = write_spec(tmp_path, LATENCY_OBJECTIVE.format(key="true"), case="absent")
    result = evaluate_run(_run(tmp_path, known), spec=spec)
    assert {o.verdict for o in result.objectives} == {"no_data"}
    assert result.verdict == "inconclusive" and result.exit_code == 2
    junit = ET.parse(tmp_path / "run" / "junit.xml").getroot()
    assert len(junit.findall(".//testcase/error")) == 4  # three phases + the verdict
    assert junit.find("testsuite").get("errors") == "4"
    assert "inconclusive" in junit.find(".//testcase[@name='verdict']/error").get("message")


def test_missing_reconcile_is_no_data_and_failed_reconcile_fails(tmp_path, known):
    body = LATENCY_OBJECTIVE.format(key="true").replace(
        "integrity: false", "integrity: {key: true}"
    )
    spec = write_spec(tmp_path, body, case="good")
    missing = evaluate_run(_run(tmp_path, known, name="missing"), spec=spec)
    assert missing.integrity.verdict == "no_data"
    assert missing.verdict == "inconclusive" and missing.exit_code == 2
    lost = dict(
        RECONCILE_OK,
        ok=False,
        checks=[
            {
                "name": "acknowledged_orders_lost",
                "ok": False,
                "violations": 2,
                "detail": "2 orders missing",
            },
            {"name": "no_duplicate_orders", "ok": True, "violations": 0, "detail": ""},
        ],
    )
    failed = evaluate_run(_run(tmp_path, known, name="lost", reconcile=lost), spec=spec)
    assert failed.integrity.verdict == "fail" and failed.integrity.lost == 2
    assert failed.verdict == "fail" and failed.exit_code == 1
    ok = evaluate_run(_run(tmp_path, known, name="ok", reconcile=RECONCILE_OK), spec=spec)
    assert ok.integrity.verdict == "pass" and ok.integrity.acknowledged == 1234
    assert ok.verdict == "pass"


def test_ratio_sli_is_event_weighted(tmp_path, known):
    body = """\
integrity: false
objectives:
  - name: availability
    sli: availability
    op: ">="
    phases:
      baseline: {target: 0.995, warning: 0.9995}
      fault: {target: 0.9}
      recovery: {target: 0.999}
"""
    result = evaluate_run(_run(tmp_path, known), spec=write_spec(tmp_path, body))
    values = {o.phase: o.value for o in result.objectives}
    verdicts = {o.phase: o.verdict for o in result.objectives}
    assert values["baseline"] == pytest.approx(0.999)
    assert verdicts["baseline"] == "warning"
    # the fault window [B+60, B+90.4] holds 31 samples at 20 % errors
    assert values["fault"] == pytest.approx(0.8)
    assert verdicts["fault"] == "fail"
    # recovery [B+90.4, B+150]: every sample error-free
    assert values["recovery"] == pytest.approx(1.0)


def test_several_series_are_judged_on_the_worst(tmp_path, known):
    body = """\
integrity: false
objectives:
  - name: server-errors
    sli: server-errors
    aggregate: max
    op: "<="
    phases: {baseline: {target: 0.01}}
"""
    result = evaluate_run(_run(tmp_path, known), spec=write_spec(tmp_path, body))
    objective = result.objectives[0]
    assert objective.verdict == "fail" and objective.value == pytest.approx(0.05)
    assert objective.series == {"case": "multi", "service": "risk"}
    assert 'service="risk"' in objective.detail


def test_phase_the_scenario_lacks_is_not_applicable(tmp_path, known):
    # a completed steady-baseline run has no fault phase: fault criteria do not apply
    spec = write_spec(tmp_path, LATENCY_OBJECTIVE.format(key="true"), case="good")
    baseline_only = [("baseline", known.base, known.base + 59)]
    folder = write_run(tmp_path / "short", phases=baseline_only, prometheus_url=known.url)
    result = evaluate_run(folder, spec=spec)
    fault = _objective(result, "client-latency-p99", "fault")
    assert fault.verdict == "not_applicable" and "no 'fault' phase" in fault.detail
    assert _objective(result, "client-latency-p99", "baseline").verdict == "pass"
    assert result.verdict == "pass"


def test_phase_missing_from_an_interrupted_run_is_no_data(tmp_path, known):
    spec = write_spec(tmp_path, LATENCY_OBJECTIVE.format(key="true"), case="good")
    baseline_only = [("baseline", known.base, known.base + 59)]
    folder = write_run(
        tmp_path / "cut", phases=baseline_only, prometheus_url=known.url, status="interrupted"
    )
    result = evaluate_run(folder, spec=spec)
    fault = _objective(result, "client-latency-p99", "fault")
    assert fault.verdict == "no_data" and "not in this run" in fault.detail
    assert result.verdict == "inconclusive"


def test_bad_query_is_refused_before_the_gate_queries_naming_field_and_parser(tmp_path, known):
    """A PromQL syntax error is found by Prometheus' own parser when the spec is read:
    nothing is queried, and the error names the file, the field and the parser's words."""
    spec = write_spec(tmp_path, LATENCY_OBJECTIVE.format(key="true"), case="good")
    spec.write_text(
        spec.read_text().replace(
            "'client:latency_seconds:p99_10s{case=\"good\"}'",
            "'rate(client:latency_seconds:p99_10s[5m]'",
        )
    )
    with pytest.raises(SpecError) as caught:
        evaluate_run(_run(tmp_path, known), spec=spec)
    assert str(spec) in caught.value.source
    assert caught.value.field.endswith("metricSource.spec.query")
    assert "rate(client:latency_seconds:p99_10s[5m]" in str(caught.value)
    assert "parse error" in str(caught.value)  # Prometheus' own words


def test_prometheus_down_is_an_error_naming_the_url(tmp_path, known):
    spec = write_spec(tmp_path, LATENCY_OBJECTIVE.format(key="true"), case="good")
    dead = f"http://127.0.0.1:{free_port()}"
    result = evaluate_run(_run(tmp_path, known, prometheus_url=dead), spec=spec)
    assert result.verdict == "error" and result.exit_code == 2
    assert dead in result.error and "unreachable" in result.error
    junit = ET.parse(tmp_path / "run" / "junit.xml").getroot()
    assert dead in junit.find(".//testcase[@name='verdict']/error").get("message")


def test_prometheus_url_argument_overrides_run_json(tmp_path, known):
    spec = write_spec(tmp_path, LATENCY_OBJECTIVE.format(key="true"), case="good")
    folder = _run(tmp_path, known, prometheus_url=f"http://127.0.0.1:{free_port()}")
    assert evaluate_run(folder, spec=spec, prometheus_url=known.url).verdict == "pass"


@pytest.mark.parametrize("status", ["interrupted", "failed"])
def test_partial_run_cannot_pass(tmp_path, known, status):
    spec = write_spec(tmp_path, LATENCY_OBJECTIVE.format(key="true"), case="good")
    result = evaluate_run(_run(tmp_path, known, status=status), spec=spec)
    assert all(o.verdict == "pass" for o in result.objectives)
    assert result.verdict == "inconclusive" and result.exit_code == 2
    assert any(status in r for r in result.reasons)
    # every item is green, so the verdict test case carries the news to CI
    junit = ET.parse(tmp_path / "run" / "junit.xml").getroot()
    assert [c.get("name") for c in junit.iter("testcase") if c.find("error") is not None] == [
        "verdict"
    ]


def test_partial_run_that_failed_a_key_objective_still_fails(tmp_path, known):
    spec = write_spec(tmp_path, LATENCY_OBJECTIVE.format(key="true"), case="bad")
    result = evaluate_run(_run(tmp_path, known, status="interrupted"), spec=spec)
    assert result.verdict == "fail" and result.exit_code == 1


def test_infinite_latency_fails_and_is_written_as_null(tmp_path, known):
    # histogram_quantile answers +Inf when the quantile falls in the +Inf bucket
    spec = write_spec(tmp_path, LATENCY_OBJECTIVE.format(key="true"), case="good")
    spec.write_text(
        spec.read_text().replace(
            "'client:latency_seconds:p99_10s{case=\"good\"}'",
            "'client:latency_seconds:p99_10s{case=\"good\"} * (+Inf)'",
        )
    )
    result = evaluate_run(_run(tmp_path, known), spec=spec)
    assert {o.verdict for o in result.objectives} == {"fail"}
    saved = json.loads((tmp_path / "run" / "slo.json").read_text())
    assert saved["objectives"][0]["value"] is None and "inf" in saved["objectives"][0]["detail"]


def test_run_phase_excludes_warmup(tmp_path, known):
    body = """\
integrity: false
objectives:
  - {name: lat, sli: latency, aggregate: max, op: "<=", phases: {run: {target: 0.25}}}
"""
    spec = write_spec(tmp_path, body, case="bad")  # 1.5 s during [B+60, B+90.4]
    b = known.base
    with_warmup = write_run(
        tmp_path / "warm",
        prometheus_url=known.url,
        phases=[("warmup", b + 60, b + 91), ("baseline", b + 91, b + 150)],
    )
    result = evaluate_run(with_warmup, spec=spec)
    assert result.objectives[0].value == pytest.approx(0.12)
    assert result.verdict == "pass"
    without = write_run(
        tmp_path / "cold", prometheus_url=known.url, phases=[("baseline", b + 60, b + 150)]
    )
    assert evaluate_run(without, spec=spec).objectives[0].value == pytest.approx(1.5)


def test_reconcile_in_loadtests_format_and_nothing_to_prove(tmp_path, known):
    body = LATENCY_OBJECTIVE.format(key="true").replace(
        "integrity: false", "integrity: {key: true}"
    )
    spec = write_spec(tmp_path, body, case="good")
    checks = [
        {"name": "acknowledged_orders_exist", "ok": False, "violations": 3, "detail": ""},
        {"name": "acknowledged_orders_unique", "ok": False, "violations": 1, "detail": ""},
        {"name": "assets_conserved", "ok": True, "violations": 0, "detail": ""},
    ]
    broken = {
        "schema": 1,
        "ok": False,
        "conclusive": True,
        "acknowledged": 500,
        "lost": 3,
        "duplicated": 1,
        "checks": checks,
        "violations": [],
    }
    result = evaluate_run(_run(tmp_path, known, name="broken", reconcile=broken), spec=spec)
    assert (result.integrity.lost, result.integrity.duplicated) == (3, 1)
    assert result.integrity.violations == 4 and result.verdict == "fail"
    empty = {
        "schema": 1,
        "ok": True,
        "conclusive": False,
        "acknowledged": 0,
        "lost": 0,
        "duplicated": 0,
        "checks": [dict(c, ok=True, violations=0) for c in checks],
    }
    result = evaluate_run(_run(tmp_path, known, name="empty", reconcile=empty), spec=spec)
    assert result.integrity.verdict == "no_data" and "nothing to prove" in result.integrity.detail
    assert result.verdict == "inconclusive"


def test_malformed_reconcile_names_file_and_field(tmp_path, known):
    from slo.errors import ResultsError

    body = LATENCY_OBJECTIVE.format(key="true").replace(
        "integrity: false", "integrity: {key: true}"
    )
    spec = write_spec(tmp_path, body, case="good")
    bad = dict(RECONCILE_OK, checks=[{"name": "x", "ok": "yes", "violations": 0}])
    folder = _run(tmp_path, known, name="bad", reconcile=bad)
    with pytest.raises(ResultsError) as caught:
        evaluate_run(folder, spec=spec)
    assert caught.value.field == "checks[0].ok" and "reconcile.json" in caught.value.source


def test_counter_ratio_survives_a_reset(tmp_path, known):
    spec = write_spec(
        tmp_path,
        """\
integrity: false
objectives:
  - name: good-share
    sli: counted
    op: ">="
    phases:
      fault: {target: 0.95}
      recovery: {target: 0.85, warning: 0.95}
""",
    )
    spec.write_text(
        spec.read_text().replace(
            "apiVersion: tradestorm.dev/v1",
            """\
apiVersion: openslo/v1
kind: SLI
metadata: {name: counted}
spec:
  ratioMetric:
    counter: true
    good: {metricSource: {type: Prometheus, spec: {query: 'tradestorm_test_good_events{case="counter"}'}}}
    total: {metricSource: {type: Prometheus, spec: {query: 'tradestorm_test_all_events{case="counter"}'}}}
---
apiVersion: tradestorm.dev/v1""",
            1,
        )
    )
    result = evaluate_run(_run(tmp_path, known), spec=spec)
    fault, recovery = result.objectives
    assert fault.value == pytest.approx(0.9) and fault.verdict == "fail"
    # the recovery window spans the reset at B+100: still exactly 9 in 10
    assert recovery.value == pytest.approx(0.9) and recovery.verdict == "warning"


def test_error_verdict_has_no_score(tmp_path, known):
    # integrity (from reconcile.json) passes without Prometheus: a partial score exists
    body = LATENCY_OBJECTIVE.format(key="true").replace(
        "integrity: false", "integrity: {key: true}"
    )
    spec = write_spec(tmp_path, body, case="good")
    dead = f"http://127.0.0.1:{free_port()}"
    result = evaluate_run(
        _run(tmp_path, known, prometheus_url=dead, reconcile=RECONCILE_OK),
        spec=spec.parent / spec.name,
    )
    assert result.verdict == "error" and result.score is None
    assert json.loads((tmp_path / "run" / "slo.json").read_text())["score"] is None


def test_misspelt_phase_is_refused_naming_it(tmp_path, known):
    body = LATENCY_OBJECTIVE.format(key="true").replace(
        "      recovery: {target: 0.25}", "      recovey: {target: 0.25}"
    )
    with pytest.raises(SpecError) as caught:
        evaluate_run(_run(tmp_path, known), spec=write_spec(tmp_path, body, case="good"))
    assert caught.value.field.endswith("phases.recovey")
    assert "unknown phase 'recovey'" in str(caught.value)


def test_key_failure_stands_even_when_a_query_fails(tmp_path, known):
    # proven lost orders (integrity FAIL) plus one query Prometheus refuses when it runs it
    # (valid syntax; an invalid regular expression): fail, not error
    body = LATENCY_OBJECTIVE.format(key="true").replace(
        "integrity: false", "integrity: {key: true}"
    )
    spec = write_spec(tmp_path, body, case="good")
    spec.write_text(
        spec.read_text().replace(
            "'client:latency_seconds:p99_10s{case=\"good\"}'",
            "'label_replace(client:latency_seconds:p99_10s, \"d\", \"$1\", \"s\", \"(.*\")'",
        )
    )
    lost = dict(
        RECONCILE_OK,
        ok=False,
        lost=2,
        checks=[{"name": "acknowledged_orders_exist", "ok": False, "violations": 2, "detail": ""}],
    )
    result = evaluate_run(_run(tmp_path, known, reconcile=lost), spec=spec)
    assert result.verdict == "fail" and result.exit_code == 1
    assert any("data integrity" in r for r in result.reasons)
    assert any("regular expression" in r for r in result.reasons)  # the broken query is named
    assert result.score is None


def test_run_left_running_cannot_pass(tmp_path, known):
    # a runner killed outright leaves run.json at "running": not a completed run
    spec = write_spec(tmp_path, LATENCY_OBJECTIVE.format(key="true"), case="good")
    result = evaluate_run(_run(tmp_path, known, status="running"), spec=spec)
    assert all(o.verdict == "pass" for o in result.objectives)
    assert result.verdict == "inconclusive" and result.exit_code == 2
    assert any("running" in r for r in result.reasons)
