"""Bad arrival-rate input is refused before anything runs, naming the field, exit 2:
a rate that is zero, negative, not a number or above what the load processes can
schedule, overlapping ramp stages, an in-flight bound below 1, a send tick that is not
0 or a duration up to 50 ms, or stages, an in-flight bound or a tick given to a
closed-model profile; in a scenario file, on ``tradestorm load`` and on plain Locust."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import REPO

from loadtests.arrival import MAX_RATE_PER_PROCESS
from loadtests.errors import ConfigError
from loadtests.launcher import start_load
from tradestorm.cli import cli
from tradestorm.errors import InputError
from tradestorm.runner.scenario import load_scenario_file

CEILING = int(MAX_RATE_PER_PROCESS)


@pytest.mark.parametrize(
    ("kwargs", "field", "words"),
    [
        ({"rate": 0}, "rate", "> 0"),
        ({"rate": -5}, "rate", "> 0"),
        ({"rate": "fast"}, "rate", "not a number"),
        ({"rate": float("nan")}, "rate", "> 0"),
        ({"rate": CEILING + 1}, "rate", f"at most {CEILING} orders/s each"),
        ({"rate": 2 * CEILING + 1, "processes": 2}, "rate", "more than 2 load process(es)"),
        ({"rate": 10, "max_in_flight": 0}, "max-in-flight", "integer >= 1"),
        ({"rate_stages": "0s-30s:0-100,20s-40s:100"}, "rate-stages", "overlaps"),
        ({"rate_stages": "0s-30s:lots"}, "rate-stages", "not a number"),
        ({"rate_stages": "30s-10s:5"}, "rate-stages", "ends before it starts"),
        ({"rate_stages": "0s-10s:0"}, "rate-stages", "nothing would be sent"),
        ({"rate_stages": f"0s-10s:{CEILING + 1}"}, "rate-stages", "at most"),
        ({"rate": 10, "rate_stages": "0s-10s:5"}, "rate", "either a rate or stages"),
        ({"rate": 10, "send_tick": "60ms"}, "send-tick", "at most 50 ms"),
        ({"rate": 10, "send_tick": "soon"}, "send-tick", "expected a duration"),
        ({"profile": "steady", "max_in_flight": 50}, "max-in-flight", "not steady"),
        ({"profile": "soak", "send_tick": "2ms"}, "send-tick", "not soak"),
    ],
)
def test_start_load_refuses_bad_arrival_input(
    fake_accounts: Path, tmp_path: Path, kwargs: dict, field: str, words: str
) -> None:
    kwargs = dict(kwargs)
    default = "ramping-arrival-rate" if "rate_stages" in kwargs else "constant-arrival-rate"
    profile = kwargs.pop("profile", default)
    with pytest.raises(ConfigError) as info:
        start_load(profile, host="http://127.0.0.1:9", accounts_file=fake_accounts,
                   results_dir=tmp_path / "r", duration_s=60, users=10, **kwargs)
    assert info.value.field == field
    assert words in info.value.problem
    assert not (tmp_path / "r").exists()  # nothing was started


def test_the_rate_ceiling_grows_with_the_processes(fake_accounts: Path, tmp_path: Path) -> None:
    from loadtests.launcher import check_profile_options

    check_profile_options("spike", users=10, duration_s=60, rate=2 * CEILING, processes=2)
    with pytest.raises(ConfigError):
        check_profile_options("spike", users=10, duration_s=60, rate=2 * CEILING, processes=1)


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["--profile", "constant-arrival-rate", "--rate", "0"], "rate"),
        (["--profile", "market-open", "--rate", "-1"], "rate"),
        (["--profile", "spike", "--rate", "lots"], "rate"),
        (["--profile", "spike", "--rate", str(CEILING * 3)], "rate"),
        (["--profile", "ramping-arrival-rate", "--stages", "0s-1m:10,30s-2m:20"], "rate-stages"),
        (["--profile", "constant-arrival-rate", "--rate", "5", "--max-in-flight", "0"],
         "max-in-flight"),
        (["--profile", "constant-arrival-rate", "--rate", "5", "--send-tick", "1s"],
         "send-tick"),
        # a closed model's users wait for each answer: a bound or a tick would be ignored
        (["--profile", "steady", "--max-in-flight", "50"], "max-in-flight"),
        (["--profile", "ramp", "--send-tick", "2ms"], "send-tick"),
        (["--profile", "steady", "--stages", "0s-1m:10"], "rate-stages"),
    ],
)
def test_load_command_refuses_bad_arrival_input_with_exit_2(
    fake_accounts: Path, tmp_path: Path, args: list[str], field: str
) -> None:
    out = CliRunner().invoke(cli, ["load", "--host", "http://127.0.0.1:9", "--accounts",
                                   str(fake_accounts), "--results", str(tmp_path / "r"), *args],
                             catch_exceptions=False)
    assert out.exit_code == 2, out.output
    assert f"field '{field}'" in out.output
    assert not (tmp_path / "r").exists()


def test_plain_locust_refuses_a_zero_rate_naming_it(fake_accounts: Path, tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "locust", "-f", str(REPO / "loadtests" / "locustfile.py"),
         "--headless", "--host", "http://127.0.0.1:9", "--accounts-file", str(fake_accounts)],
        cwd=tmp_path, capture_output=True, text=True, timeout=60,
        env={**os.environ, "TRADESTORM_PROFILE": "constant-arrival-rate",
             "TRADESTORM_RATE": "0"},
    )
    assert out.returncode == 2
    assert "field 'rate': must be a number of orders per second > 0" in out.stderr


def test_plain_locust_refuses_a_send_tick_past_50_ms_naming_it(
    fake_accounts: Path, tmp_path: Path
) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "locust", "-f", str(REPO / "loadtests" / "locustfile.py"),
         "--headless", "--host", "http://127.0.0.1:9", "--accounts-file", str(fake_accounts),
         "--load-profile", "constant-arrival-rate", "--rate", "10", "--send-tick", "1s"],
        cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )
    assert out.returncode == 2
    assert "field 'send-tick': must be 0 (off) or at most 50 ms, got '1s'" in out.stderr


SCENARIO = """\
description: an arrival-rate scenario
load: {load}
experiment: null
phases: {{baseline: 10s}}
"""


@pytest.mark.parametrize(
    ("load", "field", "words"),
    [
        ("{profile: spike, users: 20}", "load.rate", "orders per second > 0"),
        ("{profile: market-open, users: 20, rate: 0}", "load.rate", "> 0"),
        ("{profile: spike, users: 20, rate: -3}", "load.rate", "greater than or equal to 0"),
        ("{profile: spike, users: 20, rate: lots}", "load.rate", "valid number"),
        ("{profile: spike, users: 20, rate: .nan}", "load.rate", "finite number"),
        (f"{{profile: constant-arrival-rate, users: 20, rate: {CEILING * 2}}}", "load.rate",
         "more than 1 load process(es)"),
        ("{profile: constant-arrival-rate, users: 0, rate: 10}", "load.users", "greater than"),
        ("{profile: spike, users: 20, rate: 10, send_tick: 60ms}", "load.send_tick",
         "at most 50 ms"),
        ("{profile: spike, users: 20, rate: 10, send_tick: soon}", "load.send_tick",
         "expected a duration"),
        ("{profile: steady, users: 20, send_tick: 1ms}", "load.send_tick", "closed model"),
        ("{profile: spike, users: 20, rate: 10, send_tick: 0.5}", "load.send_tick",
         "at most 50 ms"),
        ("{profile: spike, users: 20, rate: 10, send_tick: true}", "load.send_tick",
         "expected a duration"),
    ],
)
def test_a_scenario_with_a_bad_rate_is_refused(tmp_path: Path, load: str, field: str,
                                                words: str) -> None:
    path = tmp_path / "arrivals.yaml"
    path.write_text(SCENARIO.format(load=load))
    with pytest.raises(InputError) as info:
        load_scenario_file(path)
    assert f"field '{field}'" in str(info.value) and words in str(info.value)
    out = CliRunner().invoke(cli, ["run", str(path), "--validate"], catch_exceptions=False)
    assert out.exit_code == 2 and f"field '{field}'" in out.output


def test_a_scenario_with_an_arrival_rate_is_valid(tmp_path: Path) -> None:
    path = tmp_path / "arrivals.yaml"
    path.write_text(SCENARIO.format(
        load=f"{{profile: spike, users: 50, rate: {CEILING * 2}, processes: 2}}"))
    scenario = load_scenario_file(path)
    assert scenario.load.rate == CEILING * 2 and scenario.load.profile == "spike"


def test_a_scenario_carries_its_send_tick_to_the_load(tmp_path: Path) -> None:
    path = tmp_path / "arrivals.yaml"
    path.write_text(SCENARIO.format(
        load="{profile: constant-arrival-rate, users: 50, rate: 100, send_tick: 2ms}"))
    scenario = load_scenario_file(path)
    assert scenario.load.send_tick == 0.002
    assert scenario.load.to_dict()["send_tick"] == 0.002
    for written, seconds in (("0", 0.0), ("0.002", 0.002)):  # numbers are seconds
        path.write_text(SCENARIO.format(load="{profile: constant-arrival-rate, users: 50, "
                                        f"rate: 100, send_tick: {written}}}"))
        assert load_scenario_file(path).load.send_tick == seconds
