"""Spec validation: a malformed spec names the file, the document and the field."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from slo_specs import LATENCY_OBJECTIVE, write_spec

from slo.errors import SpecError
from slo.validation import load_spec, parse_duration
from tradestorm.cli import cli

REFERENCE = Path(__file__).resolve().parents[2] / "slo" / "specs" / "reference-platform.yaml"


def test_reference_spec_is_valid_and_judges_both_sides():
    spec = load_spec(REFERENCE)
    sides = {o.side for o in spec.objectives}
    assert sides == {"client", "server"}
    assert any(o.key for o in spec.objectives)
    assert {"baseline", "fault", "recovery"} <= {p for o in spec.objectives for p in o.phases}
    assert spec.recovery and spec.hpa and spec.comparisons and spec.integrity.enabled
    # every SLI query reads recording rules of slo/rules (docs/contracts.md §2), no raw metric
    recorded = {
        rule["record"]
        for path in (REFERENCE.parents[1] / "rules").glob("*.yaml")
        for group in yaml.safe_load(path.read_text())["groups"]
        for rule in group["rules"]
    }
    for sli in spec.slis.values():
        for query in sli.queries:
            names = set(re.findall(r"[a-z_]+:[a-z0-9_:]+", query))
            assert names and names <= recorded, query


def test_valid_spec_keeps_phase_criteria(tmp_path):
    spec = load_spec(write_spec(tmp_path, LATENCY_OBJECTIVE.format(key="true")))
    objective = spec.objective("client-latency-p99")
    assert objective is not None and objective.key
    assert objective.phases["baseline"].target == 0.25
    assert objective.phases["baseline"].warning == 0.2
    assert objective.phases["recovery"].warning is None


@pytest.mark.parametrize(
    ("body", "field", "problem"),
    [
        (
            LATENCY_OBJECTIVE.format(key="true").replace('op: "<="', "op: '=~'"),
            "spec.objectives[0].op",
            "expected one of <=, <, >=, >",
        ),
        (
            LATENCY_OBJECTIVE.format(key="true").replace("sli: latency", "sli: latencyy"),
            "spec.objectives[0].sli",
            "unknown SLI 'latencyy'",
        ),
        (
            LATENCY_OBJECTIVE.format(key="true").replace("warning: 0.2}", "wraning: 0.2}"),
            "spec.objectives[0].phases.baseline.wraning",
            "unknown field",
        ),
        (
            LATENCY_OBJECTIVE.format(key="true").replace("warning: 0.2}", "warning: 0.3}"),
            "spec.objectives[0].phases.baseline.warning",
            "must be <= the target",
        ),
        (LATENCY_OBJECTIVE.format(key="'yes'"), "spec.objectives[0].key", "expected true or false"),
        (
            LATENCY_OBJECTIVE.format(key="true").replace("aggregate: max", "aggregate: median"),
            "spec.objectives[0].aggregate",
            "expected one of mean, max",
        ),
        (
            LATENCY_OBJECTIVE.format(key="true")
            + "recovery:\n  - {name: r, sli: errors, op: '<=', "
            "threshold: 0.01, within: soon}\n",
            "spec.recovery[0].within",
            "expected a duration",
        ),
        (
            LATENCY_OBJECTIVE.format(key="true")
            + "recovery:\n  - {name: r, sli: availability, op: '<=', "
            "threshold: 0.01, within: 30s}\n",
            "spec.recovery[0].sli",
            "needs a threshold SLI",
        ),
        (
            LATENCY_OBJECTIVE.format(key="true") + "comparison:\n  criteria:\n    - {objective: "
            "client-latency-p99, phase: run, maxWorsePct: 10}\n",
            "spec.comparison.criteria[0].phase",
            "is not judged in phase 'run'",
        ),
        (
            LATENCY_OBJECTIVE.format(key="true") + "hpa:\n  - {name: h, service: analytics, "
            "maxReplicasHit: panic}\n",
            "spec.hpa[0].maxReplicasHit",
            "expected one of fail, warn, ignore",
        ),
        (
            LATENCY_OBJECTIVE.format(key="true")
            .replace("      recovery: {target: 0.25}\n", "")
            .replace("fault: {target: 1.0, warning: 0.5}", "fault: {warning: 0.5}"),
            "spec.objectives[0].phases.fault.target",
            "required field is missing",
        ),
        ("objectives: []\nintegrity: false\n", "spec.objectives", "judges nothing"),
        (
            LATENCY_OBJECTIVE.format(key="true").replace("sli: latency", "sli: latency\n"
                                                         "    routeClass: order-entyr"),
            "spec.objectives[0].routeClass",
            "expected one of order-entry, reads, analytics, got 'order-entyr'",
        ),
    ],
)
def test_malformed_resilience_spec_names_file_and_field(tmp_path, body, field, problem):
    path = write_spec(tmp_path, body)
    with pytest.raises(SpecError) as caught:
        load_spec(path)
    error = caught.value
    assert error.field == field
    assert problem in error.problem
    assert str(path) in error.source and "ResilienceSpec 'test'" in error.source
    assert f"field '{field}'" in str(error)


def test_bad_openslo_sli_is_named_by_document(tmp_path):
    path = write_spec(tmp_path, LATENCY_OBJECTIVE.format(key="true"))
    path.write_text(
        path.read_text().replace(
            "metricSourceRef: prom, type: Prometheus, spec: {query: 'client:latency",
            "metricSourceRef: graphite, type: Prometheus, spec: {query: 'client:latency",
            1,
        )
    )
    with pytest.raises(SpecError) as caught:
        load_spec(path)
    assert caught.value.field == "spec.thresholdMetric.metricSource.metricSourceRef"
    assert "(document 2, SLI 'latency')" in caught.value.source
    assert "unknown DataSource 'graphite'" in caught.value.problem


def test_yaml_syntax_error_names_line(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("apiVersion: openslo/v1\nkind: SLI\nmetadata: {name: x\n")
    with pytest.raises(SpecError) as caught:
        load_spec(path)
    assert caught.value.field.startswith("line ")
    assert "invalid YAML" in caught.value.problem


def test_spec_without_resilience_document(tmp_path):
    path = tmp_path / "only-openslo.yaml"
    path.write_text(
        write_spec(tmp_path, LATENCY_OBJECTIVE.format(key="true"))
        .read_text()
        .split("apiVersion: tradestorm.dev/v1")[0]
    )
    with pytest.raises(SpecError, match="exactly one tradestorm.dev/v1 ResilienceSpec"):
        load_spec(path)


def test_missing_spec_file(tmp_path):
    with pytest.raises(SpecError, match="no such file"):
        load_spec(tmp_path / "nope.yaml")


def test_openslo_op_names_are_accepted(tmp_path):
    spec = load_spec(
        write_spec(tmp_path, LATENCY_OBJECTIVE.format(key="true").replace('op: "<="', "op: lte"))
    )
    assert spec.objectives[0].op == "<="


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30s", 30), ("1m30s", 90), ("500ms", 0.5), ("2h", 7200), (45, 45), ("1.5s", 1.5)],
)
def test_durations(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["soon", "", "-3s", "1d", True])
def test_bad_durations(text):
    with pytest.raises(ValueError):
        parse_duration(text)


def _one_phase_run(tmp_path: Path) -> Path:
    """A results folder whose run.json has one baseline phase (and a Prometheus nobody
    reaches: a refused spec is refused before any query)."""
    results = tmp_path / "run"
    results.mkdir()
    (results / "run.json").write_text(
        '{"schema": 1, "phases": [{"name": "baseline", "start": 1, "end": 2}],'
        ' "prometheus_url": "http://127.0.0.1:9"}'
    )
    return results


def test_cli_malformed_spec_exits_2_naming_file_and_field(tmp_path):
    results = _one_phase_run(tmp_path)
    spec = write_spec(
        tmp_path, LATENCY_OBJECTIVE.format(key="true").replace('op: "<="', "op: '=='")
    )
    outcome = CliRunner().invoke(cli, ["gate", str(results), "--spec", str(spec)])
    assert outcome.exit_code == 2
    assert str(spec) in outcome.output
    assert "field 'spec.objectives[0].op'" in outcome.output
    assert not (results / "slo.json").exists()


def test_compliance_objective_is_a_ratio_not_the_sli_unit():
    spec = load_spec(REFERENCE)
    timeslices = spec.objective("client-latency-timeslices[order-entry]")
    assert timeslices is not None and timeslices.aggregate == "compliance"
    assert timeslices.unit == "ratio" and timeslices.sample_threshold == 0.5
    assert spec.objective("client-latency-p99[order-entry]").unit == "s"


def test_reference_spec_judges_latency_per_route_class_with_order_entry_key():
    spec = load_spec(REFERENCE)
    by_class: dict[str, dict[str, float]] = {}
    for o in spec.objectives:
        if o.route_class is not None and o.name.split("[")[0] in ("client-latency-p99",
                                                                   "server-latency-p99"):
            assert o.name.endswith(f"[{o.route_class}]")
            by_class.setdefault(o.side or "", {})[o.route_class] = o.phases["baseline"].target
            assert o.key == (o.route_class == "order-entry" and o.side == "client"), o.name
    for side in ("client", "server"):
        limits = by_class[side]
        assert limits["order-entry"] < limits["reads"] < limits["analytics"], (side, limits)
    # no latency objective mixes the classes any more
    assert not [o for o in spec.objectives if "latency" in o.name and o.route_class is None]
    # order entry is also judged from the intended send time where a fault can stall it
    intended = spec.objective("client-intended-latency-p99[order-entry]")
    assert intended is not None and set(intended.phases) == {"fault", "recovery"}


def test_unknown_route_class_is_refused_by_the_gate_command(tmp_path):
    results = _one_phase_run(tmp_path)
    spec = write_spec(tmp_path, LATENCY_OBJECTIVE.format(key="true").replace(
        "sli: latency", "sli: latency\n    routeClass: checkout"))
    outcome = CliRunner().invoke(cli, ["gate", str(results), "--spec", str(spec)])
    assert outcome.exit_code == 2
    assert str(spec) in outcome.output
    assert "field 'spec.objectives[0].routeClass'" in outcome.output
    assert "'checkout'" in outcome.output
    assert not (results / "slo.json").exists()


def _openslo_variant(tmp_path, old: str, new: str):
    path = write_spec(tmp_path, LATENCY_OBJECTIVE.format(key="true"))
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    with pytest.raises(SpecError) as caught:
        load_spec(path)
    return caught.value


@pytest.mark.parametrize(
    ("old", "new", "field", "problem"),
    [
        (
            "apiVersion: openslo/v1\nkind: SLI",
            "apiVersion: openslo/v2\nkind: SLI",
            "apiVersion",
            "expected openslo/v1 or tradestorm.dev/v1",
        ),
        (
            "spec: {type: Prometheus,",
            "spec: {type: Graphite,",
            "spec.type",
            "only Prometheus data sources",
        ),
        (
            "  ratioMetric:\n    counter: false\n",
            "  ratioMetric:\n    counter: 'no'\n",
            "spec.ratioMetric.counter",
            "expected true or false",
        ),
        (
            "    bad:\n",
            "    good: {metricSource: {type: Prometheus, spec: {query: up}}}\n    bad:\n",
            "spec.ratioMetric",
            "exactly one of good, bad",
        ),
        (
            "metadata: {name: availability}",
            "metadata: {name: Availability!}",
            "metadata.name",
            "not a valid name",
        ),
        ("kind: ResilienceSpec", "kind: ResilienceSpecs", "kind", "expected ResilienceSpec"),
    ],
)
def test_malformed_openslo_documents(tmp_path, old, new, field, problem):
    error = _openslo_variant(tmp_path, old, new)
    assert error.field == field and problem in error.problem
    assert "(document " in error.source


def test_slo_with_two_objectives_is_refused(tmp_path):
    path = write_spec(tmp_path, LATENCY_OBJECTIVE.format(key="true"))
    path.write_text(
        path.read_text().replace(
            "apiVersion: tradestorm.dev/v1",
            """\
apiVersion: openslo/v1
kind: SLO
metadata: {name: two}
spec:
  indicatorRef: latency
  objectives:
    - {op: lte, value: 0.2, target: 0.9}
    - {op: lte, value: 0.5, target: 0.99}
---
apiVersion: tradestorm.dev/v1""",
            1,
        )
    )
    with pytest.raises(SpecError) as caught:
        load_spec(path)
    assert (
        caught.value.field == "spec.objectives" and "one objective per SLO" in caught.value.problem
    )
    assert "SLO 'two'" in caught.value.source


def test_cli_refuses_results_dir_with_a_window(tmp_path):
    outcome = CliRunner().invoke(cli, ["gate", str(tmp_path), "--from", "now-5m"])
    assert outcome.exit_code == 2
    assert "field '--from'" in outcome.stderr and "not both" in outcome.stderr


def test_document_that_is_not_a_mapping(tmp_path):
    path = tmp_path / "list.yaml"
    path.write_text("- apiVersion: openslo/v1\n")
    with pytest.raises(SpecError) as caught:
        load_spec(path)
    assert caught.value.field == "(top level)" and "expected a mapping" in caught.value.problem
    assert "(document 1)" in caught.value.source
