"""run.json, read and written by its one owner (runfolder.record)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from runfolder.errors import RunFolderError
from runfolder.record import PhaseRecord, RunRecord, read_run

ROOT = Path(__file__).resolve().parents[2]


def _record() -> RunRecord:
    record = RunRecord(run_id="r1", scenario="pod-kill-orders", target="local",
                       started_at=1000.0, load={"profile": "steady", "users": 5})
    record.phases = [PhaseRecord("warmup", 1000.0, 1010.0, 10.0),
                     PhaseRecord("baseline", 1010.0, 1070.0, 60.0),
                     PhaseRecord("fault", 1070.0, None, 30.0)]
    record.ended_at = 1090.0
    record.status = "interrupted"
    record.experiment = {"status": "interrupted", "deviated": False}
    record.stages = {"load": {"ok": True}}
    return record


def test_a_written_record_reads_back_with_its_warmup_and_an_open_phase_closed(tmp_path):
    _record().write(tmp_path)
    saved = json.loads((tmp_path / "run.json").read_text())
    assert saved["schema"] == 1 and saved["warmup"]["name"] == "warmup"
    assert [p["name"] for p in saved["phases"]] == ["baseline", "fault"]
    back = read_run(tmp_path)
    assert [p.name for p in back.phases] == ["warmup", "baseline", "fault"]
    assert back.phase("fault").end == 1090.0  # an open phase ran until the run ended
    assert (back.status, back.experiment, back.stages) == (
        "interrupted", {"status": "interrupted", "deviated": False}, {"load": {"ok": True}})


@pytest.mark.parametrize(("change", "field", "problem"), [
    ({"schema": 7}, "schema", "not one this version reads"),
    ({"started_at": "yesterday"}, "started_at", "expected Unix seconds"),
    ({"status": "done"}, "status", "expected one of"),
    ({"phases": [{"name": "baseline", "start": 1010, "end": 1000}]}, "phases[0].end",
     "ends before it starts"),
    ({"faults": [{"action": "kill", "start": None}]}, "faults[0].start", "Unix seconds"),
    ({"experiment": {"deviated": "yes"}}, "experiment.deviated", "true or false"),
    ({"stages": {"load": "ok"}}, "stages.load", "expected an object"),
])
def test_a_malformed_run_json_names_the_field(tmp_path, change, field, problem):
    _record().write(tmp_path)
    data = json.loads((tmp_path / "run.json").read_text())
    data.update(change)
    (tmp_path / "run.json").write_text(json.dumps(data))
    with pytest.raises(RunFolderError) as caught:
        read_run(tmp_path)
    assert caught.value.field == field and problem in caught.value.problem
    assert caught.value.source == str(tmp_path / "run.json")


def test_a_missing_or_unparseable_run_json_is_named(tmp_path):
    with pytest.raises(RunFolderError, match="no run.json"):
        read_run(tmp_path)
    (tmp_path / "run.json").write_text("{not json")
    with pytest.raises(RunFolderError, match="not valid JSON"):
        read_run(tmp_path)


def test_nothing_but_runfolder_names_run_json():
    """The folder's one owner: every other package reads run.json through runfolder."""
    offenders = []
    for package in ("slo", "reports", "tradestorm", "loadtests", "experiments"):
        for path in (ROOT / package).rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            if re.search(r"""["']run\\.json["']\s*\)|/ ["']run\\.json["']""", text):
                offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []
