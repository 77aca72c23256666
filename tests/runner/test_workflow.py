"""The GitHub Actions workflow: a test job and a resilience gate that fails on the verdict.

GitHub Actions cannot run here, so the workflow is checked statically: it
parses, every action is pinned to a full commit SHA, the test job runs the
README's test command, and the gate job runs a scenario on the local target,
lets its exit code fail the job, and uploads the results folder and the report
on success and on failure alike.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tradestorm.runner.scenario import load_scenario


@pytest.fixture(scope="module")
def workflow(repo_root: Path) -> dict[str, Any]:
    files = sorted((repo_root / ".github" / "workflows").glob("*.yml"))
    assert files, "no workflow in .github/workflows/"
    docs = [yaml.load(f.read_text(), Loader=yaml.BaseLoader) for f in files]  # 'on' stays a key
    merged: dict[str, Any] = {"jobs": {}}
    for doc in docs:
        assert "on" in doc and "jobs" in doc
        merged["jobs"].update(doc["jobs"])
    return merged


def _steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    return job.get("steps", [])


def _runs(job: dict[str, Any]) -> str:
    return "\n".join(step.get("run", "") for step in _steps(job))


def test_every_action_is_pinned_to_a_commit(workflow: dict[str, Any]) -> None:
    uses = [step["uses"] for job in workflow["jobs"].values() for step in _steps(job)
            if "uses" in step]
    assert uses
    for ref in uses:
        assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", ref), f"not pinned to a SHA: {ref}"


def test_the_test_job_runs_the_readme_test_command(workflow: dict[str, Any],
                                                   repo_root: Path) -> None:
    readme = (repo_root / "README.md").read_text()
    assert "bash scripts/test.sh" in readme
    test_jobs = [job for job in workflow["jobs"].values() if "bash scripts/test.sh" in _runs(job)]
    assert test_jobs, "no job runs bash scripts/test.sh"


def _gate_job(workflow: dict[str, Any]) -> dict[str, Any]:
    gates = [job for job in workflow["jobs"].values()
             if "tradestorm run" in _runs(job) and "--target local" in _runs(job)]
    assert len(gates) == 1, "expected one resilience-gate job running 'tradestorm run'"
    return gates[0]


def test_the_gate_job_runs_a_shipped_scenario_on_the_local_target(
    workflow: dict[str, Any], repo_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gate = _gate_job(workflow)
    pattern = re.compile(r"tradestorm run (?!--validate)")
    step = next(s for s in _steps(gate) if pattern.search(s.get("run", "")))
    assert "--target local" in step["run"]
    # the gate's exit code must fail the job: no '|| true', no continue-on-error
    assert "|| true" not in step["run"] and step.get("continue-on-error") in (None, "false")
    scenario = gate.get("env", {}).get("SCENARIO", "")
    default = re.search(r"\|\|\s*'([\w-]+)'", scenario)
    name = default.group(1) if default else scenario
    monkeypatch.chdir(repo_root)
    assert "local" in load_scenario(name).targets


def test_results_and_report_are_uploaded_even_when_the_gate_fails(
    workflow: dict[str, Any]
) -> None:
    gate = _gate_job(workflow)
    uploads = [s for s in _steps(gate) if "upload-artifact" in s.get("uses", "")]
    always = [s for s in uploads if "always()" in s.get("if", "")]
    paths = " ".join(s.get("with", {}).get("path", "") for s in always)
    assert "RESULTS_DIR" in paths and "report.html" in paths
    run_step = next(s for s in _steps(gate) if "--results" in s.get("run", ""))
    assert "$RESULTS_DIR" in run_step["run"]


def test_jobs_have_timeouts_and_read_only_permissions(repo_root: Path) -> None:
    for path in (repo_root / ".github" / "workflows").glob("*.yml"):
        doc = yaml.load(path.read_text(), Loader=yaml.BaseLoader)
        assert doc.get("permissions", {}).get("contents") == "read", path
        for name, job in doc["jobs"].items():
            assert "timeout-minutes" in job, f"{path.name}: job {name} has no timeout"


def test_jobs_run_on_the_projects_platform_with_a_pinned_image(workflow: dict[str, Any]) -> None:
    """Debian 12 + Python 3.11 like the project's machines (bootstrap installs prometheus
    and chromium from Debian as root); a moving tag would change CI under our feet."""
    for name, job in workflow["jobs"].items():
        runs, uses = _runs(job), str(_steps(job))
        # jobs that drive the runner's own Docker (image builds, kind) cannot run in a
        # container, and the Terraform-only jobs need none: a pinned runner image instead
        on_runner = ("kind create cluster" in runs or "docker/setup-buildx-action" in uses
                     or "scripts/" not in runs)
        if on_runner and not job.get("container"):
            assert re.search(r"ubuntu-\d\d\.\d\d", str(job["runs-on"])), f"{name}: {job}"
            continue
        image = (job.get("container") or {}).get("image", "")
        assert re.fullmatch(r"python:3\.11\.\d+-slim-bookworm", image), f"{name}: {image!r}"
