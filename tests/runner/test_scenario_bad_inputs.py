"""The table of bad inputs: every one is refused before anything runs, exit 2, field named.

Validation is held to what the run enforces: each row is a mistake in an
experiment (``tradestorm chaos validate``), a scenario or its overrides
(``tradestorm run --validate``, ``--set``, ``--fault``...) or an SLO spec (through
the scenario naming it), and each expects exit code 2 and one line on stderr
naming the file (or option) and the field. Many rows are inputs that validation
used to pass and the run then tripped over: a limit an action enforces (latency,
duration), a configuration reference to nothing, a phase no run has, a PromQL
syntax error, a phase longer than any run.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

REPO = Path(__file__).resolve().parents[2]
SPEC = "slo/specs/reference-platform.yaml"

Change = Callable[[dict[str, Any]], Any]


@dataclass(frozen=True)
class Bad:
    """One bad input: which file it breaks (or which options it passes), how, and the
    field the refusal must name."""

    id: str
    kind: str  # "experiment", "scenario", "options" or "spec"
    field: str
    change: Change | None = None
    options: tuple[str, ...] = ()
    text: str | None = None  # the file's whole text, instead of a change


def _args(where: str, **values: Any) -> Change:
    """Set arguments of the activity at ``method[0]``, ``probes[1]`` (steady state)..."""
    section, index = where.rstrip("]").split("[")

    def change(doc: dict[str, Any]) -> None:
        node = doc["steady-state-hypothesis"]["probes"] if section == "probes" else doc[section]
        node[int(index)]["provider"]["arguments"].update(values)

    return change


def _config(**values: Any) -> Change:
    return lambda doc: doc.setdefault("configuration", {}).update(values)


def _both(*changes: Change) -> Change:
    def change(doc: dict[str, Any]) -> None:
        for one in changes:
            one(doc)

    return change


def _objective(index: int, **values: Any) -> Change:
    return lambda docs: docs[-1]["spec"]["objectives"][index].update(values)


def _slo_probe(**arguments: Any) -> Change:
    probe = {"type": "probe", "name": "p99-holds", "tolerance": True,
             "provider": {"type": "python", "module": "tradestorm_chaos.probes",
                          "func": "slo_holds", "arguments": {
                              "query": "client:latency_seconds:p99_10s", "threshold": 1,
                              **arguments}}}
    return lambda doc: doc["steady-state-hypothesis"]["probes"].append(probe)


M0 = "method[0].provider.arguments"
P0 = "steady-state-hypothesis.probes[0].provider.arguments"
P2 = "steady-state-hypothesis.probes[2].provider.arguments"

EXPERIMENT_ROWS = [
    # limits the actions and probes enforce when they run
    Bad("latency-1e12", "experiment", f"{M0}.ms", _args("method[0]", ms=10**12)),
    Bad("latency-1e12-by-config", "experiment", "configuration.latency_ms",
        _config(latency_ms=10**12)),
    Bad("latency-negative", "experiment", "configuration.latency_ms", _config(latency_ms=-1)),
    Bad("latency-float", "experiment", f"{M0}.ms", _args("method[0]", ms=2.5)),
    Bad("jitter-above-limit", "experiment", "configuration.jitter_ms",
        _config(jitter_ms=600_001)),
    Bad("fault-duration-negative", "experiment", "configuration.fault_duration_s",
        _config(fault_duration_s=-5)),
    Bad("fault-duration-zero", "experiment", f"{M0}.duration", _args("method[0]", duration=0)),
    Bad("fault-duration-above-limit", "experiment", "configuration.fault_duration_s",
        _config(fault_duration_s=3601)),
    Bad("fault-duration-words", "experiment", f"{M0}.duration",
        _args("method[0]", duration="soon")),
    Bad("fault-duration-infinite", "experiment", "configuration.fault_duration_s",
        _config(fault_duration_s=float("inf"))),
    Bad("probe-timeout-negative", "experiment", "configuration.recovery_timeout_s",
        _config(recovery_timeout_s=-1)),
    Bad("probe-timeout-above-limit", "experiment", f"{P0}.timeout",
        _args("probes[0]", timeout=3601)),
    Bad("replicas-minimum-negative", "experiment", "steady-state-hypothesis.probes[1]"
        ".provider.arguments.minimum", _args("probes[1]", minimum=-1)),
    Bad("slo-window-zero", "experiment", f"{P2}.window", _slo_probe(window=0)),
    Bad("slo-window-above-limit", "experiment", f"{P2}.window", _slo_probe(window=86_401)),
    Bad("slo-step-zero", "experiment", f"{P2}.step", _slo_probe(step=0)),
    # references and names
    Bad("unresolved-reference", "experiment", f"{M0}.ms", _args("method[0]", ms="${nope}")),
    Bad("unresolved-reference-in-probe", "experiment", f"{P0}.timeout",
        _args("probes[0]", timeout="${recovery_timeout}")),
    Bad("unresolved-reference-in-text", "experiment", "method[0].name",
        lambda d: d["method"][0].update(name="delay ${who}")),
    Bad("unresolved-reference-in-rollback", "experiment", "rollbacks[0].provider.arguments"
        ".service", lambda d: d["rollbacks"][0]["provider"]["arguments"].update(
            service="${svc}")),
    Bad("unknown-service", "experiment", f"{M0}.service", _args("method[0]", service="riskk")),
    Bad("unknown-service-by-config", "experiment", "configuration.target_service",
        _both(_config(target_service="nope"), _args("method[0]", service="${target_service}"))),
    Bad("unknown-function", "experiment", "method[0].provider.func",
        lambda d: d["method"][0]["provider"].update(func="add_latenzy")),
    Bad("unknown-argument", "experiment", f"{M0}.colour", _args("method[0]", colour="red")),
    Bad("missing-argument", "experiment", f"{M0}.ms",
        lambda d: d["method"][0]["provider"]["arguments"].pop("ms")),
    # settings every activity reads when it runs
    Bad("http-timeout-negative", "experiment", "configuration.tradestorm_http_timeout_s",
        _config(tradestorm_http_timeout_s=-1)),
    Bad("residue-timeout-words", "experiment", "configuration.tradestorm_residue_timeout_s",
        _config(tradestorm_residue_timeout_s="soon")),
    Bad("misspelt-setting", "experiment", "configuration.tradestorm_http_timout_s",
        _config(tradestorm_http_timout_s=3)),
    Bad("empty-namespace", "experiment", "configuration.kubernetes_namespace",
        _config(kubernetes_namespace="")),
    Bad("configuration-not-a-mapping", "experiment", "configuration",
        lambda d: d.update(configuration=["latency_ms"])),
    # shape
    Bad("no-rollback", "experiment", "rollbacks", lambda d: d.update(rollbacks=[])),
    Bad("one-word-description", "experiment", "description",
        lambda d: d.update(description="latency")),
    Bad("no-title", "experiment", "title", lambda d: d.pop("title")),
    Bad("not-yaml", "experiment", "line 3, column 1", text="title: x\ndescription: [open\n"),
]

SCENARIO_ROWS = [
    Bad("recovery-99999999h", "scenario", "phases.recovery",
        lambda d: d["phases"].update(recovery="99999999h")),
    Bad("warmup-25h", "scenario", "phases.warmup", lambda d: d["phases"].update(warmup="25h")),
    Bad("baseline-25h", "scenario", "phases.baseline",
        lambda d: d["phases"].update(baseline="25h")),
    Bad("fault-longer-than-a-fault", "scenario", "phases.fault",
        lambda d: d["phases"].update(fault="1h0m1s")),
    Bad("recovery-zero", "scenario", "phases.recovery",
        lambda d: d["phases"].update(recovery="0s")),
    Bad("unknown-phase-key", "scenario", "phases.cooldown",
        lambda d: d["phases"].update(cooldown="10s")),
    Bad("no-users", "scenario", "load.users", lambda d: d["load"].update(users=0)),
    Bad("unknown-profile", "scenario", "load.profile",
        lambda d: d["load"].update(profile="stedy")),
    Bad("unknown-target", "scenario", "targets[1]",
        lambda d: d.update(targets=["local", "mars"])),
    Bad("latency-1e12-in-scenario", "scenario", "configuration.latency_ms",
        lambda d: d.update(configuration={"latency_ms": 10**12})),
    Bad("unknown-configuration-key", "scenario", "configuration.latency",
        lambda d: d.update(configuration={"latency": 5})),
    Bad("unknown-spec", "scenario", "slo", lambda d: d.update(slo="no-such-spec")),
    Bad("set-latency-1e12", "options", "configuration.latency_ms",
        options=("--set", "latency_ms=1000000000000")),
    Bad("set-latency-negative", "options", "configuration.latency_ms",
        options=("--set", "latency_ms=-1")),
    Bad("set-jitter-words", "options", "configuration.jitter_ms",
        options=("--set", "jitter_ms=lots")),
    Bad("set-recovery-timeout-above-limit", "options", "configuration.recovery_timeout_s",
        options=("--set", "recovery_timeout_s=99999")),
    Bad("set-unknown-key", "options", "configuration.nope", options=("--set", "nope=1")),
    Bad("option-fault-2h", "options", "phases.fault", options=("--fault", "2h")),
    Bad("option-recovery-99999999h", "options", "phases.recovery",
        options=("--recovery", "99999999h")),
]

SPEC_ROWS = [
    Bad("spec-unknown-phase", "spec", "spec.objectives[0].phases.recovey",
        lambda docs: docs[-1]["spec"]["objectives"][0]["phases"].update(
            recovey={"target": 0.9})),
    Bad("spec-promql-syntax", "spec", "spec.thresholdMetric.metricSource.spec.query",
        lambda docs: _sli(docs, "client-latency-p99")["spec"]["thresholdMetric"][
            "metricSource"]["spec"].update(query="rate(client:latency_seconds:p99_10s[5m]")),
    Bad("spec-promql-unclosed-brace", "spec", "spec.thresholdMetric.metricSource.spec.query",
        lambda docs: _sli(docs, "client-latency-p99")["spec"]["thresholdMetric"][
            "metricSource"]["spec"].update(query='up{job="x"')),
    Bad("spec-no-objectives", "spec", "spec.objectives",
        lambda docs: docs[-1]["spec"].pop("objectives")),
    Bad("spec-unknown-aggregate", "spec", "spec.objectives[2].aggregate",
        _objective(2, aggregate="p955")),
    Bad("spec-unknown-op", "spec", "spec.objectives[2].op", _objective(2, op="=~")),
    Bad("spec-unknown-field", "spec", "spec.objectives[0].targett", _objective(0, targett=1)),
    Bad("spec-step-zero", "spec", "spec.step", lambda docs: docs[-1]["spec"].update(step="0s")),
]

ROWS = EXPERIMENT_ROWS + SCENARIO_ROWS + SPEC_ROWS


def _sli(docs: list[dict[str, Any]], name: str) -> dict[str, Any]:
    return next(d for d in docs if d.get("kind") == "SLI" and d["metadata"]["name"] == name)


def _cli(cwd: Path, *args: str) -> tuple[int, str]:
    from tradestorm.cli import cli

    previous = Path.cwd()
    os.chdir(cwd)
    try:
        result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    finally:
        os.chdir(previous)
    return result.exit_code, result.stderr


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project like the repository: the risk-latency experiment, scenario and spec."""
    (tmp_path / "experiments" / "scenarios").mkdir(parents=True)
    (tmp_path / "slo" / "specs").mkdir(parents=True)
    for name in ("experiments/risk-latency.yaml", "experiments/scenarios/risk-latency.yaml",
                 SPEC):
        (tmp_path / name).write_text((REPO / name).read_text())
    return tmp_path


def _rewrite(path: Path, row: Bad, multi: bool = False) -> None:
    if row.text is not None:
        path.write_text(row.text)
        return
    assert row.change is not None
    if multi:
        docs = list(yaml.safe_load_all(path.read_text()))
        row.change(docs)  # type: ignore[arg-type]
        path.write_text(yaml.safe_dump_all(docs, sort_keys=False))
    else:
        doc = yaml.safe_load(path.read_text())
        row.change(doc)
        path.write_text(yaml.safe_dump(doc, sort_keys=False))


def test_the_table_is_large_and_every_kind_is_in_it() -> None:
    assert len(ROWS) >= 50
    assert {row.kind for row in ROWS} == {"experiment", "scenario", "options", "spec"}
    assert len({row.id for row in ROWS}) == len(ROWS)


def test_the_untouched_files_are_valid(project: Path) -> None:
    code, err = _cli(project, "chaos", "validate", "experiments/risk-latency.yaml")
    assert code == 0, err
    code, err = _cli(project, "run", "risk-latency", "--validate")
    assert code == 0, err


@pytest.mark.parametrize("row", ROWS, ids=[row.id for row in ROWS])
def test_a_bad_input_is_refused_with_exit_2_naming_the_file_and_the_field(
    project: Path, row: Bad
) -> None:
    if row.kind == "experiment":
        path = project / "experiments" / "risk-latency.yaml"
        _rewrite(path, row)
        code, err = _cli(project, "chaos", "validate", "experiments/risk-latency.yaml")
        named = "experiments/risk-latency.yaml"
    elif row.kind == "spec":
        _rewrite(project / SPEC, row, multi=True)
        code, err = _cli(project, "run", "risk-latency", "--validate")
        named = SPEC
    else:
        scenario = project / "experiments" / "scenarios" / "risk-latency.yaml"
        if row.kind == "scenario":
            _rewrite(scenario, row)
        code, err = _cli(project, "run", "risk-latency", "--validate", *row.options)
        named = row.options[0] if row.options else "experiments/scenarios/risk-latency.yaml"
    assert code == 2, err
    assert f"field '{row.field}'" in err, err
    assert named in err, err
    assert "Traceback" not in err
