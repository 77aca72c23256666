"""Bad guardrails and calendars are refused by ``tradestorm run --validate`` (exit 2),
naming the file and the field, never discovered at fault time."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

GUARD = {"name": "client-errors", "query": "client:errors:ratio_rate10s", "above": 0.05,
         "for": "10s"}


def write_scenario(tmp_path: Path, guard: dict[str, Any] | None = None,
                   calendar: Path | None = None, venues: list[str] | None = None) -> Path:
    doc: dict[str, Any] = {
        "name": "guarded", "description": "guarded outage", "targets": ["local"],
        "load": {"profile": "steady", "users": 2}, "experiment": "database-outage",
        "phases": {"baseline": "5s", "fault": "5s", "recovery": "5s"},
    }
    if guard is not None:
        doc["guardrails"] = {"stop": [guard]}
    if calendar is not None:
        doc["calendar"] = {"file": str(calendar), "venues": venues or []}
    path = tmp_path / "guarded.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def validate(path: Path, repo_root: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tradestorm", "run", str(path), "--validate",
                           *extra], cwd=repo_root, capture_output=True, text=True, timeout=120)


def refused(done: subprocess.CompletedProcess[str], path: Path, field: str) -> str:
    shown = done.stdout + done.stderr
    assert done.returncode == 2, shown
    assert str(path) in shown and f"field '{field}'" in shown, shown
    return shown


def test_a_valid_guardrail_validates(tmp_path: Path, repo_root: Path) -> None:
    done = validate(write_scenario(tmp_path, GUARD), repo_root)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize(("change", "field", "says"), [
    ({"query": "sum(rate(tradestorm_client_requests_total[10s]"}, "guardrails.stop[0].query",
     "not valid PromQL"),
    ({"for": None}, "guardrails.stop[0].for", "required"),
    ({"for": "-5s"}, "guardrails.stop[0].for", "got '-5s'"),
    ({"above": None}, "guardrails.stop[0].above", "exactly one threshold"),
    ({"query": None, "above": None, "objective": "order-entry-availabilty"},
     "guardrails.stop[0].objective", "no objective 'order-entry-availabilty'"),
    ({"fore": "10s"}, "guardrails.stop[0].fore", "unknown field"),
])
def test_a_bad_guardrail_is_refused(tmp_path: Path, repo_root: Path, change: dict[str, Any],
                                    field: str, says: str) -> None:
    guard = {k: v for k, v in {**GUARD, **change}.items() if v is not None}
    path = write_scenario(tmp_path, guard)
    assert says in refused(validate(path, repo_root), path, field)


WEEKDAYS = ["mon", "tue", "wed", "thu", "fri"]


def write_calendar(tmp_path: Path, venue: dict[str, Any]) -> Path:
    path = tmp_path / "calendar.yaml"
    path.write_text(yaml.safe_dump({"venues": {"XTST": venue}}))
    return path


@pytest.mark.parametrize(("venue", "field", "says"), [
    ({"timezone": "Mars/Olympus", "sessions": []}, "venues.XTST.timezone",
     "unknown time zone 'Mars/Olympus'"),
    ({"timezone": "Europe/Paris", "sessions": [
        {"name": "continuous", "days": WEEKDAYS, "start": "09:00", "end": "17:30"},
        {"name": "closing-auction", "days": ["fri"], "start": "17:25", "end": "17:35"}]},
     "venues.XTST", "overlaps"),
    ({"timezone": "Europe/Paris", "sessions": [
        {"name": "continuous", "days": WEEKDAYS, "start": "9h", "end": "17:30"}]},
     "venues.XTST.sessions[0].start", "expected a local time"),
    ({"timezone": "Europe/Paris", "sessions": [
        {"name": "night", "days": WEEKDAYS, "start": "22:00", "end": "02:00"}]},
     "venues.XTST.sessions[0].end", "crossing midnight"),
    ({"timezone": "Europe/Paris", "holidays": ["2025-13-01"]}, "venues.XTST.holidays[0]",
     "expected a date"),
])
def test_a_bad_calendar_is_refused_naming_its_file(tmp_path: Path, repo_root: Path,
                                                   venue: dict[str, Any], field: str,
                                                   says: str) -> None:
    calendar = write_calendar(tmp_path, venue)
    path = write_scenario(tmp_path, calendar=calendar)
    assert says in refused(validate(path, repo_root), calendar, field)
    # the same through --calendar
    plain = write_scenario(tmp_path)
    assert says in refused(validate(plain, repo_root, "--calendar", str(calendar)),
                           calendar, field)


def test_an_unknown_venue_is_refused(tmp_path: Path, repo_root: Path) -> None:
    calendar = write_calendar(tmp_path, {"timezone": "Europe/Paris", "sessions": []})
    path = write_scenario(tmp_path, calendar=calendar, venues=["XNOPE"])
    assert "no venue 'XNOPE'" in refused(validate(path, repo_root), path, "calendar.venues")


def test_the_shipped_sample_calendar_is_valid_and_marked_sample(tmp_path: Path,
                                                                repo_root: Path) -> None:
    sample = repo_root / "calendars" / "sample-venues.yaml"
    assert "NOT real exchange hours" in sample.read_text()
    done = validate(write_scenario(tmp_path, calendar=sample, venues=["SAMPLE-NY"]), repo_root)
    assert done.returncode == 0, done.stdout + done.stderr
