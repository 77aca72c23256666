"""Every experiment is valid for real Chaos Toolkit and for tradestorm's stricter rules;
a malformed file is refused with exit code 2, naming the file and the field."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from tradestorm_chaos.errors import ExperimentInvalid
from tradestorm_chaos.validation import load_and_validate

REPO = Path(__file__).resolve().parents[2]
EXPERIMENTS = sorted((REPO / "experiments").glob("*.yaml"))
LOCAL_AND_K8S = {"pod-kill-gateway", "pod-kill-orders", "pod-kill-risk", "pod-kill-portfolio",
                 "pod-kill-marketdata", "pod-kill-analytics", "risk-latency", "database-outage",
                 "partition-marketdata", "portfolio-outage"}
K8S_ONLY = {"cpu-stress-analytics", "node-drain"}


@dataclass
class Ran:
    returncode: int
    stdout: str
    stderr: str


def tradestorm(*args: str, cwd: Path = REPO) -> Ran:
    """The real ``tradestorm`` click application, in-process (a process costs ~3 s of
    imports; the SIGINT and allow-list tests run real processes)."""
    from click.testing import CliRunner

    from tradestorm.cli import cli

    previous = Path.cwd()
    os.chdir(cwd)
    try:
        result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    finally:
        os.chdir(previous)
    return Ran(result.exit_code, result.stdout, result.stderr)


def test_the_experiment_set_is_complete() -> None:
    assert {p.stem for p in EXPERIMENTS} == LOCAL_AND_K8S | K8S_ONLY
    # the scenarios of the runner name experiments that exist
    for scenario in (REPO / "experiments" / "scenarios").glob("*.yaml"):
        name = yaml.safe_load(scenario.read_text()).get("experiment")
        if name:
            assert (REPO / "experiments" / f"{name}.yaml").is_file(), scenario.name


def test_every_experiment_passes_the_real_chaos_validate() -> None:
    """Chaos Toolkit's own ``chaos validate`` command (version check off, no log file),
    invoked in-process through click (one process per file costs ~2 s of imports each)."""
    from chaostoolkit.cli import cli
    from click.testing import CliRunner

    for path in EXPERIMENTS:
        result = CliRunner().invoke(cli, ["--no-version-check", "--no-log-file", "validate",
                                          str(path)])
        assert result.exit_code == 0, f"{path.name}: {result.output}{result.exception!r}"
    # and once for real, as a user would type it
    chaos = Path(sys.executable).with_name("chaos")
    assert chaos.exists(), "the chaostoolkit CLI is not installed"
    proc = subprocess.run([str(chaos), "--no-version-check", "--no-log-file", "validate",
                           str(EXPERIMENTS[0])], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "NO_COLOR": "1"})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "experiment syntax and semantic look valid" in (proc.stdout + proc.stderr)


def test_every_experiment_passes_tradestorm_chaos_validate() -> None:
    proc = tradestorm("chaos", "validate", *[str(p) for p in EXPERIMENTS])
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert len(lines) == len(EXPERIMENTS) and all(line.startswith("ok ") for line in lines)
    for name in K8S_ONLY:
        assert any(f"{name}.yaml (targets: kubernetes)" in line for line in lines)


def test_every_description_states_a_hypothesis() -> None:
    for path in EXPERIMENTS:
        description = yaml.safe_load(path.read_text())["description"]
        assert "Hypothesis:" in description, path.name
        if path.stem in K8S_ONLY:
            assert description.startswith("Kubernetes only"), path.name


def _base() -> dict[str, Any]:
    return yaml.safe_load((REPO / "experiments" / "risk-latency.yaml").read_text())


def _write(tmp_path: Path, doc: dict[str, Any] | str, name: str = "broken.yaml") -> Path:
    path = tmp_path / name
    path.write_text(doc if isinstance(doc, str) else yaml.safe_dump(doc, sort_keys=False))
    return path


def _break(change: Any) -> dict[str, Any]:
    doc = _base()
    change(doc)
    return doc


BROKEN = [
    ("description", lambda d: d.update(description="slow risk")),
    ("title", lambda d: d.pop("title")),
    ("steady-state-hypothesis.probes", lambda d: d["steady-state-hypothesis"].update(probes=[])),
    ("method", lambda d: d.update(method=[])),
    ("rollbacks", lambda d: d.update(rollbacks=[])),
    ("method[0].provider.arguments.service",
     lambda d: d["method"][0]["provider"]["arguments"].update(service="riskk")),
    ("method[0].provider.arguments.duration",
     lambda d: d["method"][0]["provider"]["arguments"].update(duration=7200)),
    ("method[0].provider.arguments.ms",
     lambda d: d["method"][0]["provider"]["arguments"].update(ms=-5)),
    ("method[0].provider.func", lambda d: d["method"][0]["provider"].update(func="add_latenzy")),
    ("method[0].provider.arguments.colour",
     lambda d: d["method"][0]["provider"]["arguments"].update(colour="red")),
    ("method[0].provider.arguments.ms",
     lambda d: d["method"][0]["provider"]["arguments"].pop("ms")),
    ("method[0]", lambda d: d["method"][0].update(type="actoin")),
    ("configuration.tradestorm_target",
     lambda d: d["configuration"].update(tradestorm_target="kubernetes")
     or d.update(extensions=[{"name": "tradestorm", "targets": ["local"]}])),
    ("extensions[0].targets",
     lambda d: d.update(extensions=[{"name": "tradestorm", "targets": ["mars"]}])),
]


@pytest.mark.parametrize(("field", "change"), BROKEN, ids=[b[0] for b in BROKEN])
def test_a_malformed_experiment_names_the_field(field: str, change: Any, tmp_path: Path) -> None:
    path = _write(tmp_path, _break(change))
    with pytest.raises(ExperimentInvalid) as caught:
        load_and_validate(path)
    assert caught.value.field == field, str(caught.value)
    assert caught.value.source == str(path)


def test_a_remove_faults_for_another_service_is_not_a_rollback(tmp_path: Path) -> None:
    doc = _base()
    doc["rollbacks"][0]["provider"]["arguments"]["service"] = "orders"
    with pytest.raises(ExperimentInvalid, match="no matching rollback: add remove_faults or "
                                                "restore_all for risk"):
        load_and_validate(_write(tmp_path, doc))


def test_a_kubernetes_only_activity_needs_a_kubernetes_only_experiment(tmp_path: Path) -> None:
    doc = yaml.safe_load((REPO / "experiments" / "node-drain.yaml").read_text())
    doc["extensions"] = [{"name": "tradestorm", "targets": ["local", "kubernetes"]}]
    doc["configuration"].pop("tradestorm_target")
    with pytest.raises(ExperimentInvalid, match="runs on kubernetes only") as caught:
        load_and_validate(_write(tmp_path, doc))
    assert caught.value.field == "extensions"


def test_the_cli_exits_2_naming_file_and_field(tmp_path: Path) -> None:
    path = _write(tmp_path, _break(lambda d: d["method"][0]["provider"]["arguments"].update(
        service="riskk")))
    proc = tradestorm("chaos", "validate", str(path))
    assert proc.returncode == 2
    assert f"{path}: field 'method[0].provider.arguments.service': unknown service 'riskk'" \
        in proc.stderr
    run = tradestorm("chaos", "run", str(path), "--dry-run", "--results", str(tmp_path / "r"))
    assert run.returncode == 2 and "method[0].provider.arguments.service" in run.stderr
    assert not (tmp_path / "r").exists()


def test_yaml_syntax_errors_name_the_line(tmp_path: Path) -> None:
    path = _write(tmp_path, "title: x\ndescription: [unclosed\n")
    proc = tradestorm("chaos", "validate", str(path))
    assert proc.returncode == 2
    assert f"{path}: field 'line " in proc.stderr and "not valid YAML" in proc.stderr


def test_validate_reports_every_bad_file_and_still_exits_2(tmp_path: Path) -> None:
    bad = _write(tmp_path, _break(lambda d: d.update(description="x")))
    proc = tradestorm("chaos", "validate", str(EXPERIMENTS[0]), str(bad),
                      str(tmp_path / "missing.yaml"))
    assert proc.returncode == 2
    assert proc.stdout.startswith("ok ")
    assert "field 'description'" in proc.stderr and "missing.yaml: field '(file)'" in proc.stderr


def test_a_bare_name_is_looked_up_in_experiments() -> None:
    proc = tradestorm("chaos", "validate", "pod-kill-orders", cwd=Path("/"))
    assert proc.returncode == 0, proc.stderr
    assert "experiments/pod-kill-orders.yaml" in proc.stdout


def test_a_dry_run_plans_even_without_a_running_local_target(tmp_path: Path) -> None:
    proc = tradestorm("chaos", "run", "database-outage", "--dry-run", "--state-dir",
                      str(tmp_path / "no-target"), "--results", str(tmp_path / "out"))
    assert proc.returncode == 0, proc.stderr
    assert "[dry-run] would POST http://<supervisor>/database/stop" in proc.stderr
    assert "dry run: 2 operation(s) planned, none performed" in proc.stdout
