"""Scenario files: every mistake a user makes is refused, naming the file and the field.

The scenarios live in a project laid out like the repository (a temporary
folder with experiments/, experiments/scenarios/ and slo/specs/), and are
loaded both through the Python API and through a real ``tradestorm run``
process (exit code 2, one line on stderr).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from inputs.durations import format_duration, parse_duration
from inputs.errors import FieldError
from tradestorm.runner.errors import ScenarioNotFoundError
from tradestorm.runner.scenario import load_scenario, load_scenario_file

VALID = {
    "name": "kill-it",
    "description": "Kill one orders replica; nothing is lost.",
    "targets": ["local", "kubernetes"],
    "load": {"profile": "steady", "users": 5, "seed": 3},
    "experiment": "pod-kill-orders",
    "slo": "reference-platform",
    "phases": {"warmup": "2s", "baseline": "10s", "fault": "5s", "recovery": "1m"},
}


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project folder with one experiment and one SLO spec, as the cwd."""
    (tmp_path / "experiments" / "scenarios").mkdir(parents=True)
    repo = Path(__file__).resolve().parents[2]
    for name in ("pod-kill-orders", "cpu-stress-analytics"):
        (tmp_path / "experiments" / f"{name}.yaml").write_text(
            (repo / "experiments" / f"{name}.yaml").read_text())
    (tmp_path / "experiments" / "broken.yaml").write_text(
        (repo / "experiments" / "pod-kill-orders.yaml").read_text().replace(
            "func: kill_replicas", "func: kill_replicaz"))
    (tmp_path / "slo" / "specs").mkdir(parents=True)
    shipped = repo / "slo" / "specs" / "reference-platform.yaml"
    (tmp_path / "slo" / "specs" / "reference-platform.yaml").write_text(shipped.read_text())
    (tmp_path / "slo" / "specs" / "broken.yaml").write_text(
        shipped.read_text().replace("aggregate: p95", "aggregate: p955", 1))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def write(project: Path, doc: object, name: str = "kill-it") -> Path:
    path = project / "experiments" / "scenarios" / f"{name}.yaml"
    path.write_text(doc if isinstance(doc, str) else yaml.safe_dump(doc, sort_keys=False))
    return path


def mutate(**changes: object) -> dict:
    doc = yaml.safe_load(yaml.safe_dump(VALID))
    for dotted, value in changes.items():
        *parents, last = dotted.split("__")
        node = doc
        for part in parents:
            node = node[part]
        if value is DELETE:
            del node[last]
        else:
            node[last] = value
    return doc


DELETE = object()


def refused(project: Path, doc: object) -> FieldError:
    path = write(project, doc)
    with pytest.raises(FieldError) as info:
        load_scenario_file(path)
    assert info.value.source.endswith("experiments/scenarios/kill-it.yaml")
    return info.value


def test_a_valid_scenario_loads_with_resolved_files_and_seconds(project: Path) -> None:
    scenario = load_scenario("kill-it") if write(project, VALID) else None
    assert scenario is not None
    assert scenario.name == "kill-it"
    assert scenario.experiment == project / "experiments" / "pod-kill-orders.yaml"
    assert scenario.slo_spec == project / "slo" / "specs" / "reference-platform.yaml"
    assert (scenario.phases.warmup, scenario.phases.baseline, scenario.phases.fault,
            scenario.phases.recovery) == (2.0, 10.0, 5.0, 60.0)
    assert scenario.load.users == 5 and scenario.load.seed == 3 and scenario.load.processes == 1
    assert scenario.targets == ("local", "kubernetes")


@pytest.mark.parametrize(
    ("doc", "field", "words"),
    [
        (mutate(phases__fault="twenty"), "phases.fault", "expected a duration like 20s"),
        (mutate(phases__baseline="-5s"), "phases.baseline", "expected a duration"),
        (mutate(phases__baseline="0s"), "phases.baseline", "longer than 0s"),
        (mutate(phases__fault=DELETE), "phases.fault", "required when the scenario runs"),
        (mutate(phases__recovery=DELETE), "phases.recovery", "required"),
        (mutate(phases__baselin="10s"), "phases.baselin", "did you mean 'baseline'"),
        (mutate(experiments="pod-kill-orders"), "experiments", "did you mean 'experiment'"),
        (mutate(load__user=5), "load.user", "did you mean 'users'"),
        (mutate(load__users=0), "load.users", "greater than or equal to 1"),
        (mutate(load__users="many"), "load.users", "integer"),
        (mutate(load__users=True), "load.users", "integer"),
        (mutate(load__profile="stedy"), "load.profile", "did you mean 'steady'"),
        (mutate(load=DELETE), "load", "required field is missing"),
        (mutate(description=DELETE), "description", "required field is missing"),
        (mutate(targets=["local", "openshift"]), "targets[1]", "'local' or 'kubernetes'"),
        (mutate(targets=[]), "targets", "at least 1"),
        (mutate(targets=["local", "local"]), "targets", "listed twice"),
        (mutate(experiment="pod-kil-orders"), "experiment", "did you mean 'pod-kill-orders'"),
        (mutate(experiment="missing/exp.yaml"), "experiment", "not found"),
        (mutate(slo="no-such-spec"), "slo", "no SLO spec named 'no-such-spec'"),
        (mutate(name="Kill It"), "name", "lower-case letters"),
        (mutate(experiment=None), "phases.fault", "runs no experiment"),
        (mutate(configuration={"bad key": 1}), "configuration.bad key", "letters, digits"),
        (mutate(configuration={"recovery_timeout": 5}), "configuration.recovery_timeout",
         "did you mean 'recovery_timeout_s'"),
        (mutate(phases="20s"), "phases", "mapping"),
        # values that used to pass validation and break the run half-way
        (mutate(phases__recovery="0s"), "phases.recovery", "longer than 0s"),
        (mutate(phases__recovery=0), "phases.recovery", "what the run measures"),
        (mutate(phases__fault="1h0m1s"), "phases.fault", "longer than a fault may last (1h00m00s"),
        (mutate(configuration={"tradestorm_http_timeout_s": -1}),
         "configuration.tradestorm_http_timeout_s", "must be a finite number > 0"),
        (mutate(configuration={"tradestorm_residue_timeout_s": "soon"}),
         "configuration.tradestorm_residue_timeout_s", "must be a finite number > 0"),
        (mutate(configuration={"tradestorm_http_timeout_s": float("inf")}),
         "configuration.tradestorm_http_timeout_s", "must be a finite number > 0"),
        (mutate(configuration={"tradestorm_residue_timeout_s": float("nan")}),
         "configuration.tradestorm_residue_timeout_s", "must be a finite number > 0"),
        (mutate(configuration={"tradestorm_http_timout_s": 3}),
         "configuration.tradestorm_http_timout_s", "did you mean 'tradestorm_http_timeout_s'"),
        (mutate(configuration={"kubernetes_namespace": ""}),
         "configuration.kubernetes_namespace", "non-empty string"),
        (mutate(configuration={"tradestorm_target": "kubernetes"}),
         "configuration.tradestorm_target", "set by the run"),
        (mutate(configuration={"kubernetes_context": "prod"}),
         "configuration.kubernetes_context", "--context"),
        (mutate(configuration={"recovery_timeout_s": 99999}),
         "configuration.recovery_timeout_s", "[0, 3600]"),
        (mutate(configuration={"recovery_timeout_s": "a minute"}),
         "configuration.recovery_timeout_s", "as steady-state-hypothesis.probes[0]"),
    ],
)
def test_each_mistake_names_the_file_and_the_field(
    project: Path, doc: dict, field: str, words: str
) -> None:
    error = refused(project, doc)
    assert error.field == field, str(error)
    assert words in error.problem, str(error)
    assert str(error).startswith(f"{error.source}: field '{field}': ")


def test_a_malformed_slo_spec_is_refused_before_the_run_naming_the_spec(project: Path) -> None:
    path = write(project, mutate(slo="broken"))
    with pytest.raises(FieldError) as info:  # the SLO part's own input error, same shape
        load_scenario_file(path)
    assert "slo/specs/broken.yaml" in info.value.source
    assert "aggregate" in info.value.field, str(info.value)


def test_a_malformed_experiment_is_refused_before_the_run_naming_it(project: Path) -> None:
    path = write(project, mutate(experiment="broken"))
    with pytest.raises(FieldError) as info:
        load_scenario_file(path)
    assert "experiments/broken.yaml" in info.value.source
    assert "kill_replicaz" in str(info.value)


def test_an_experiment_for_another_target_is_refused(project: Path) -> None:
    error = refused(project, mutate(experiment="cpu-stress-analytics"))
    assert error.field == "targets"
    assert "cpu-stress-analytics.yaml runs on kubernetes only" in error.problem
    only_k8s = mutate(experiment="cpu-stress-analytics", targets=["kubernetes"])
    assert load_scenario_file(write(project, only_k8s)).targets == ("kubernetes",)


def test_several_mistakes_are_all_reported(project: Path) -> None:
    error = refused(project, mutate(phases__fault="x", load__users=-1, colour="red"))
    text = str(error)
    assert "phases.fault" in text and "load.users" in text and "colour" in text


def test_yaml_mistakes_name_the_line(project: Path) -> None:
    error = refused(project, "name: kill-it\nload: {profile: steady\nphases: x\n")
    assert error.field == "(file)" and "line" in error.problem
    error = refused(project, "- just\n- a list\n")
    assert error.field == "(top level)"


def test_a_key_written_twice_is_refused(project: Path) -> None:
    text = yaml.safe_dump(VALID, sort_keys=False) + "phases: {baseline: 1s}\n"
    error = refused(project, text)
    assert "appears twice" in error.problem and "line" in error.problem


def test_a_scenario_without_experiment_has_no_fault_phase(project: Path) -> None:
    doc = mutate(experiment=None, phases={"baseline": "30s"})
    scenario = load_scenario_file(write(project, doc))
    assert not scenario.has_fault
    assert scenario.phases.fault == 0 and scenario.phases.recovery == 0
    with pytest.raises(FieldError) as info:
        scenario.with_overrides(fault=10)
    assert info.value.field == "phases.fault"


def test_overrides_apply_and_are_recorded(project: Path) -> None:
    scenario = load_scenario_file(write(project, VALID))
    quick = scenario.with_overrides(baseline=3, fault=4, recovery=5, users=2,
                                    configuration={"recovery_timeout_s": 30})
    assert (quick.phases.baseline, quick.phases.fault, quick.phases.recovery) == (3, 4, 5)
    assert quick.load.users == 2
    assert quick.configuration == {"recovery_timeout_s": 30}
    assert quick.document["phases"]["fault"] == "4s"
    assert quick.document["configuration"] == {"recovery_timeout_s": 30}
    assert scenario.phases.fault == 5.0  # the original is unchanged
    with pytest.raises(FieldError) as info:
        scenario.with_overrides(configuration={"latency": 3000})
    assert info.value.source == "--set" and "has no configuration 'latency'" in str(info.value)


def test_a_kubernetes_only_scenario_is_refused_on_local_with_the_reason(project: Path) -> None:
    scenario = load_scenario_file(write(project, mutate(targets=["kubernetes"])))
    with pytest.raises(FieldError) as info:
        scenario.check_target("local")
    text = str(info.value)
    assert info.value.field == "targets"
    assert "kubernetes only" in text and "HorizontalPodAutoscaler" in text
    scenario.check_target("kubernetes")


def test_an_unknown_scenario_name_lists_the_available_ones(project: Path) -> None:
    write(project, VALID)
    with pytest.raises(ScenarioNotFoundError) as info:
        load_scenario("kill-itt")
    assert "kill-it" in str(info.value) and "available" in str(info.value)
    with pytest.raises(FieldError) as missing:
        load_scenario("nowhere/x.yaml")
    assert missing.value.problem == "no such file"


@pytest.mark.parametrize(("text", "seconds"), [
    ("20s", 20.0), ("1m30s", 90.0), ("500ms", 0.5), ("2m", 120.0), ("1h", 3600.0),
    ("15", 15.0), (7, 7.0), ("1.5s", 1.5), (" 3 s ", 3.0),
])
def test_durations(text: object, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "s", "20x", "1m 30q", "-1s", "abc", None, True, "1s2"])
def test_bad_durations(text: object) -> None:
    with pytest.raises(ValueError, match="duration like 20s"):
        parse_duration(text)


def test_format_duration() -> None:
    assert format_duration(90) == "1m30s"
    assert format_duration(5) == "5s"
    assert format_duration(3725) == "1h02m05s"


def _cli(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tradestorm", *args], cwd=project, capture_output=True, text=True,
        timeout=60,
    )


def test_the_command_refuses_a_bad_scenario_with_exit_2_and_file_and_field(project: Path) -> None:
    path = write(project, mutate(phases__fault="twenty"))
    done = _cli(project, "run", str(path), "--results", str(project / "out"))
    assert done.returncode == 2, done.stderr
    assert (f"{path.relative_to(project)}: field 'phases.fault': expected a duration like 20s"
            in done.stderr)
    assert not (project / "out").exists()  # nothing started, nothing written
    done = _cli(project, "run", "kill-it", "--target", "local", "--validate")
    assert done.returncode == 2 and "phases.fault" in done.stderr


def test_the_command_refuses_a_kubernetes_only_scenario_on_local(project: Path) -> None:
    write(project, mutate(targets=["kubernetes"]))
    done = _cli(project, "run", "kill-it", "--target", "local")
    assert done.returncode == 2
    assert "field 'targets'" in done.stderr and "kubernetes only" in done.stderr


def test_the_command_validates_and_lists(project: Path) -> None:
    write(project, VALID)
    done = _cli(project, "run", "--validate", "kill-it")
    assert done.returncode == 0, done.stderr
    assert "valid" in done.stdout and "fault 5s" in done.stdout
    listing = _cli(project, "run", "--list")
    assert listing.returncode == 0 and "kill-it" in listing.stdout
    unknown = _cli(project, "run", "nope")
    assert unknown.returncode == 2 and "scenario 'nope'" in unknown.stderr


def test_an_existing_results_folder_with_files_is_never_overwritten(project: Path) -> None:
    write(project, VALID)
    out = project / "out"
    out.mkdir()
    (out / "run.json").write_text("{}")
    done = _cli(project, "run", "kill-it", "--results", str(out))
    assert done.returncode == 2 and "not empty" in done.stderr
    assert (out / "run.json").read_text() == "{}"


def test_a_kubernetes_run_without_a_context_is_refused_naming_it(project: Path) -> None:
    write(project, VALID)
    done = _cli(project, "run", "kill-it", "--target", "kubernetes",
                "--results", str(project / "k8s"))
    assert done.returncode == 2
    assert "--context" in done.stderr
    for gone in ("--gateway-url", "--accounts"):  # the run finds those itself now
        assert gone not in done.stderr
    assert not (project / "k8s").exists()  # a refused run writes nothing


def test_a_kubernetes_run_on_a_context_not_allowed_is_refused_before_connecting(
        project: Path) -> None:
    write(project, VALID)
    done = _cli(project, "run", "kill-it", "--target", "kubernetes", "--context", "prod-eu",
                "--results", str(project / "k8s"))
    assert done.returncode == 2
    assert "prod-eu" in done.stderr and "allow" in done.stderr.lower()
    assert not (project / "k8s").exists()


def test_a_second_run_on_the_same_target_is_refused_while_one_runs(project: Path) -> None:
    import fcntl
    import json
    import os

    write(project, VALID)
    state = project / "state"
    state.mkdir()
    with (state / "runner.lock").open("a+") as held:  # what a running 'tradestorm run' holds
        fcntl.flock(held.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        held.write(json.dumps({"pid": os.getpid(), "scenario": "pod-kill-orders",
                               "started_at": 0}))
        held.flush()
        done = _cli(project, "run", "kill-it", "--state-dir", str(state),
                    "--results", str(project / "second"))
    assert done.returncode == 2, done.stderr
    assert f"another tradestorm run (pid {os.getpid()}, scenario pod-kill-orders" in done.stderr
    assert not (project / "second").exists()
    assert not (state / "state.json").exists()  # no target was brought up


def test_the_longest_fault_and_a_settings_override_are_accepted(project: Path) -> None:
    doc = mutate(phases__fault="1h", configuration={"tradestorm_http_timeout_s": 2.5,
                                                     "recovery_timeout_s": 3600})
    scenario = load_scenario_file(write(project, doc))
    assert scenario.phases.fault == 3600.0


def test_overrides_are_held_to_the_same_rules_naming_the_option(project: Path) -> None:
    scenario = load_scenario_file(write(project, VALID))
    for overrides, source, field in [
        ({"recovery": 0}, "--recovery", "phases.recovery"),
        ({"fault": 3601}, "--fault", "phases.fault"),
        ({"configuration": {"recovery_timeout_s": -5}}, "--set",
         "configuration.recovery_timeout_s"),
        ({"configuration": {"tradestorm_http_timeout_s": 0}}, "--set",
         "configuration.tradestorm_http_timeout_s"),
        ({"configuration": {"tradestorm_state_dir": "/elsewhere"}}, "--set",
         "configuration.tradestorm_state_dir"),
        ({"configuration": {"latency": 3000}}, "--set", "configuration.latency"),
        ({"users": 0}, "--users", "load.users"),
        ({"users": 10_001}, "--users", "load.users"),
        ({"seed": -1}, "--seed", "load.seed"),
        ({"baseline": 0}, "--baseline", "phases.baseline"),
        ({"warmup": -1}, "--warmup", "phases.warmup"),
        ({"warmup": 25 * 3600}, "--warmup", "phases.warmup"),
    ]:
        with pytest.raises(FieldError) as info:
            scenario.with_overrides(**overrides)
        assert (info.value.source, info.value.field) == (source, field), str(info.value)


def test_a_bad_default_in_the_experiment_names_the_experiment(project: Path) -> None:
    experiment = project / "experiments" / "pod-kill-orders.yaml"
    experiment.write_text(experiment.read_text().replace("recovery_timeout_s: 60",
                                                         "recovery_timeout_s: 7200"))
    path = write(project, VALID)
    with pytest.raises(FieldError) as info:
        load_scenario_file(path)
    assert info.value.source.endswith("experiments/pod-kill-orders.yaml")
    assert info.value.field == "configuration.recovery_timeout_s"
    # the scenario may put it right
    fixed = load_scenario_file(write(project, mutate(configuration={"recovery_timeout_s": 60})))
    assert fixed.configuration == {"recovery_timeout_s": 60}


def test_the_command_refuses_them_with_exit_2_naming_file_and_field(project: Path) -> None:
    path = write(project, mutate(phases__recovery="0s"))
    done = _cli(project, "run", str(path), "--validate")
    assert done.returncode == 2, done.stderr
    assert f"{path.relative_to(project)}: field 'phases.recovery': " in done.stderr
    write(project, VALID)
    done = _cli(project, "run", "kill-it", "--validate", "--set", "tradestorm_http_timeout_s=-1")
    assert done.returncode == 2
    assert "--set: field 'configuration.tradestorm_http_timeout_s': must be a finite number > 0" \
        in done.stderr
    done = _cli(project, "run", "kill-it", "--validate", "--fault", "2h")
    assert done.returncode == 2 and "--fault: field 'phases.fault'" in done.stderr
