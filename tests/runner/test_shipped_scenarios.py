"""The scenarios shipped in experiments/scenarios/ load, and say what they promise."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from tradestorm_chaos.config import FAULT_DURATION_KEYS

from tradestorm.errors import InputError
from tradestorm.runner.scenario import available_scenarios, load_scenario
from tradestorm.targets import LoadHandle, LoadRequest, Say

SHIPPED = ["steady-baseline", "pod-kill-orders", "risk-latency", "database-outage",
           "portfolio-outage", "hpa-scale-out"]


@pytest.fixture(autouse=True)
def _in_repo(repo_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(repo_root)


def test_every_promised_scenario_is_shipped() -> None:
    assert set(SHIPPED) <= set(available_scenarios())


@pytest.mark.parametrize("name", SHIPPED)
def test_each_shipped_scenario_loads_with_its_experiment_and_spec(name: str) -> None:
    scenario = load_scenario(name)  # validates the experiment and the SLO spec too
    assert scenario.name == name
    assert scenario.slo_spec.name == "reference-platform.yaml"
    assert scenario.description and "Hypothesis" in scenario.description or not scenario.has_fault
    if scenario.has_fault:
        assert scenario.phases.fault > 0 and scenario.phases.recovery > 0


def test_steady_baseline_injects_nothing() -> None:
    scenario = load_scenario("steady-baseline")
    assert scenario.experiment is None
    assert scenario.phases.fault == 0 and scenario.phases.recovery == 0


def test_hpa_scale_out_is_kubernetes_only_and_refused_on_local() -> None:
    scenario = load_scenario("hpa-scale-out")
    assert scenario.targets == ("kubernetes",)
    with pytest.raises(InputError) as info:
        scenario.check_target("local")
    assert "HorizontalPodAutoscaler" in str(info.value)


def _no_load(request: LoadRequest, results_dir: Path, say: Say) -> LoadHandle:
    raise AssertionError("no load is started here")


@pytest.mark.parametrize("name", [n for n in SHIPPED if n != "steady-baseline"])
def test_the_fault_lasts_the_scenario_fault_phase(name: str) -> None:
    """Every timed fault takes its length from the configuration the run assembles from the
    scenario's plan (also after a --fault override)."""
    scenario = load_scenario(name)
    assert scenario.experiment is not None and scenario.plan is not None
    document = yaml.safe_load(scenario.experiment.read_text())
    for planned in (scenario, scenario.with_overrides(fault=7)):
        assert planned.plan is not None
        config = planned.plan.configuration({"tradestorm_target": "local"})
        run = planned.plan.as_run({"tradestorm_target": "local"})
        for activity in document.get("method", []):
            args = (activity.get("provider") or {}).get("arguments") or {}
            if "duration" in args:
                ref = str(args["duration"])
                assert ref.startswith("${") and ref[2:-1] in FAULT_DURATION_KEYS, (name, ref)
                assert config[ref[2:-1]] == planned.phases.fault
                assert run["configuration"][ref[2:-1]] == planned.phases.fault


def test_the_demo_runs_a_real_fault_scenario_on_local_in_a_few_minutes() -> None:
    from tradestorm.commands.run import DEMO_SCENARIO, DEMO_TIMINGS, DEMO_USERS

    scenario = load_scenario(DEMO_SCENARIO).with_overrides(**DEMO_TIMINGS, users=DEMO_USERS)
    scenario.check_target("local")
    assert scenario.has_fault
    assert scenario.phases.fault > 0 and scenario.phases.recovery > 0
    assert scenario.phases.total <= 120  # plus target start and wrap-up: a few minutes
