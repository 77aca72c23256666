"""The load generator's duration option reads the project's duration grammar
(``inputs.durations``) and names the option when it cannot."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from loadtests.errors import ConfigError
from loadtests.settings import LoadSettings, parse_duration


@pytest.mark.parametrize(("value", "seconds"), [
    ("20s", 20.0), ("5m", 300.0), ("1h30m", 5400.0), ("1h 30m 10s", 5410.0), ("500ms", 0.5),
    ("90", 90.0), (12, 12.0), (2.5, 2.5), ("1.08e+06", 1_080_000.0),
])
def test_durations_the_load_accepts(value: object, seconds: float) -> None:
    assert parse_duration(value, "options", "profile-duration") == seconds


@pytest.mark.parametrize(("value", "words"), [
    ("soon", "expected a duration like 20s"), ("1m1m", "expected a duration like 20s"),
    ("-5s", "expected a duration like 20s"), ("nan", "expected a duration like 20s"),
    (float("inf"), "finite"), (True, "expected a duration like 20s"),
    ("0s", "must be > 0 seconds"), (0, "must be > 0 seconds"),
])
def test_a_bad_duration_names_the_option(value: object, words: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_duration(value, "options", "profile-duration")
    assert info.value.field == "profile-duration"
    assert words in info.value.problem


def test_settings_name_the_duration_option(tmp_path) -> None:
    options = SimpleNamespace(profile_duration="2 minutes", accounts_file=str(tmp_path / "a.json"))
    with pytest.raises(ConfigError) as info:
        LoadSettings.from_options(options)
    assert (info.value.source, info.value.field) == ("options", "profile-duration")
    options.profile_duration = "2m"
    assert LoadSettings.from_options(options).duration_s == 120.0


@pytest.mark.parametrize(("value", "fsync"), [
    (None, False), ("false", False), ("0", False), ("true", True), ("YES", True), ("on", True),
])
def test_journal_fsync_is_off_unless_asked(tmp_path, value: object, fsync: bool) -> None:
    options = SimpleNamespace(journal_fsync=value, accounts_file=str(tmp_path / "a.json"))
    assert LoadSettings.from_options(options).journal_fsync is fsync


def test_a_bad_journal_fsync_names_the_option(tmp_path) -> None:
    options = SimpleNamespace(journal_fsync="sometimes", accounts_file=str(tmp_path / "a.json"))
    with pytest.raises(ConfigError) as info:
        LoadSettings.from_options(options)
    assert info.value.field == "journal-fsync" and "'sometimes'" in info.value.problem


@pytest.mark.parametrize(("value", "forward"), [
    (None, False), ("false", False), ("true", True), ("1", True),
])
def test_journal_to_master_is_off_unless_asked(tmp_path, value: object, forward: bool) -> None:
    options = SimpleNamespace(journal_to_master=value, accounts_file=str(tmp_path / "a.json"))
    assert LoadSettings.from_options(options).journal_to_master is forward


def test_a_bad_journal_to_master_names_the_option(tmp_path) -> None:
    options = SimpleNamespace(journal_to_master="maybe", accounts_file=str(tmp_path / "a.json"))
    with pytest.raises(ConfigError) as info:
        LoadSettings.from_options(options)
    assert info.value.field == "journal-to-master"
