"""`tradestorm up/status/down` answers that need no running target."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from tradestorm.cli import cli


def test_status_and_down_when_nothing_runs(tmp_path: Path) -> None:
    runner = CliRunner()
    r = runner.invoke(cli, ["status", "--state-dir", str(tmp_path)])
    assert r.exit_code == 3
    assert "no local target is running" in r.output
    r = runner.invoke(cli, ["status", "--json", "--state-dir", str(tmp_path)])
    assert r.exit_code == 3
    assert json.loads(r.output)["running"] is False
    r = runner.invoke(cli, ["down", "--state-dir", str(tmp_path)])
    assert r.exit_code == 0 and "nothing to do" in r.output


def test_state_dir_from_the_environment(tmp_path: Path) -> None:
    r = CliRunner().invoke(cli, ["status", "--json"], env={"TRADESTORM_STATE_DIR": str(tmp_path)})
    assert r.exit_code == 3
    assert json.loads(r.output)["state_dir"] == str(tmp_path)


def test_a_corrupt_state_file_is_an_error_not_a_crash(tmp_path: Path) -> None:
    (tmp_path / "state.json").write_text("{not json")
    r = CliRunner().invoke(cli, ["status", "--state-dir", str(tmp_path)])
    assert r.exit_code == 2
    assert "state.json" in r.output and "tradestorm down" in r.output
    # down clears it, so the next up can start
    r = CliRunner().invoke(cli, ["down", "--state-dir", str(tmp_path)])
    assert r.exit_code == 0
    assert not (tmp_path / "state.json").exists()


def test_bad_replicas_is_a_usage_error(tmp_path: Path) -> None:
    r = CliRunner().invoke(cli, ["up", "--replicas", "0", "--state-dir", str(tmp_path)])
    assert r.exit_code == 2
    assert "--replicas" in r.output
    assert not (tmp_path / "state.json").exists()


def test_kubernetes_target_needs_a_context(tmp_path: Path) -> None:
    r = CliRunner().invoke(cli, ["up", "--target", "kubernetes"])
    assert r.exit_code == 2
    assert "--context" in r.output


def test_up_without_prometheus_names_the_package_and_starts_nothing(tmp_path: Path) -> None:
    r = CliRunner().invoke(cli, ["up", "--state-dir", str(tmp_path)],
                           env={"PATH": str(tmp_path / "empty-bin")})
    assert r.exit_code == 2, r.output
    assert "apt-get install prometheus" in r.output
    assert not (tmp_path / "state.json").exists()
    assert not (tmp_path / "logs").exists()


def test_a_bad_log_size_is_a_usage_error(tmp_path: Path) -> None:
    r = CliRunner().invoke(cli, ["up", "--log-max-size", "lots", "--state-dir", str(tmp_path)])
    assert r.exit_code == 2
    assert "--log-max-size" in r.output and "not a size" in r.output
    assert not (tmp_path / "state.json").exists()


def test_the_log_size_reaches_the_supervisor(tmp_path: Path, monkeypatch) -> None:
    import tradestorm.local.target as target_mod

    started: list[list[str]] = []

    def spawn(argv: list[str], **_kw: object) -> None:
        started.append(argv)
        raise OSError("not started in this test")

    monkeypatch.setattr(target_mod, "spawn", spawn)
    r = CliRunner().invoke(cli, ["up", "--log-max-size", "512k", "--state-dir", str(tmp_path)])
    assert r.exit_code == 2, r.output  # a clear error, not a traceback
    assert "cannot start the supervisor" in r.output and "not started in this test" in r.output
    [argv] = started
    assert argv[argv.index("--log-max-bytes") + 1] == str(512 * 1024)
    assert argv[argv.index("-m") + 1] == "tradestorm.local.supervisor"


@pytest.mark.parametrize("command", [
    ["up"], ["status"], ["down"], ["load", "--duration", "1s", "--results", "r"],
    ["reconcile", "--results", "r"], ["run", "--validate", "steady-baseline"], ["chaos", "clean"],
])
def test_a_file_as_state_dir_is_a_usage_error_naming_the_option(
    tmp_path: Path, command: list[str]
) -> None:
    a_file = tmp_path / "not-a-folder"
    a_file.write_text("")
    r = CliRunner().invoke(cli, [*command, "--state-dir", str(a_file)])
    assert r.exit_code == 2, r.output
    assert "--state-dir" in r.output and "is a file" in r.output
