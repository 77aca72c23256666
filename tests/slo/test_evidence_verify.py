"""The evidence pack and ``tradestorm verify``: a saved results folder is re-judged
offline (no Prometheus) to the verdict it records, and a changed byte is named."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from slo_promdata import RECONCILE_OK, write_run

from slo.gate import evaluate_run


def _verify(folder: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, COLUMNS="160", NO_COLOR="1")
    return subprocess.run([sys.executable, "-m", "tradestorm", "verify", str(folder)],
                          capture_output=True, text=True, timeout=60, env=env)


@pytest.fixture
def judged(tmp_path, known) -> Path:
    """A healthy reference run judged against the known Prometheus, then copied elsewhere
    (a folder re-judged "anywhere": no siblings, and Prometheus' URL made unreachable)."""
    folder = write_run(tmp_path / "runs" / "run", phases=known.phases(start=known.ref),
                       faults=[known.fault(start=known.ref)], prometheus_url=known.url,
                       reconcile=RECONCILE_OK)
    (folder / "scenario.yaml").write_text("description: known\n")
    result = evaluate_run(folder)
    assert result.verdict == "pass"
    moved = tmp_path / "elsewhere" / "run"
    moved.parent.mkdir()
    folder.rename(moved)
    run = json.loads((moved / "run.json").read_text())
    manifest = json.loads((moved / "manifest.json").read_text())
    assert manifest["files"]["run.json"]  # sealed as judged
    assert run["prometheus_url"] == known.url
    return moved


def test_an_untouched_folder_is_verified_offline(judged):
    manifest = json.loads((judged / "manifest.json").read_text())
    assert {"slo.json", "run.json", "reconcile.json", "evidence/samples.json",
            "evidence/spec.yaml", "junit.xml", "scenario.yaml"} <= set(manifest["files"])
    assert manifest["inputs"] == {"spec": "evidence/spec.yaml", "scenario": "scenario.yaml"}
    assert manifest["harness"]["git_commit"]
    done = _verify(judged)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "judged again offline: pass" in done.stdout and done.stdout.strip().endswith("verified")


def test_a_changed_byte_is_named_and_not_verified(judged):
    samples = judged / "evidence" / "samples.json"
    samples.write_text(samples.read_text() + " ")  # one byte more, the JSON still valid
    done = _verify(judged)
    assert done.returncode == 1
    assert f"changed: {samples}" in done.stdout and "NOT verified" in done.stdout


def test_a_doctored_verdict_is_caught_by_judging_again(judged):
    """A pass written over a failing run's slo.json, and the manifest re-made to match: the
    seal holds, but the saved samples judged again say otherwise."""
    slo_path = judged / "slo.json"
    slo = json.loads(slo_path.read_text())
    slo["objectives"][0]["value"] = 0.5  # not what the samples say
    slo_path.write_text(json.dumps(slo))
    from runfolder.manifest import seal

    seal(judged)
    done = _verify(judged)
    assert done.returncode == 1
    assert "differs: objectives" in done.stdout and "NOT verified" in done.stdout


def test_a_folder_without_a_manifest_is_never_verified(judged):
    (judged / "manifest.json").unlink()
    done = _verify(judged)
    assert done.returncode == 2
    assert "no manifest.json" in done.stderr and "verified" not in done.stdout


def test_a_manifest_that_does_not_parse_is_named(judged):
    (judged / "manifest.json").write_text("{nope")
    done = _verify(judged)
    assert done.returncode == 2
    assert "manifest.json" in done.stderr and "not valid JSON" in done.stderr
