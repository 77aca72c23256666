"""The CI workflows a user forks (.github/workflows): actionlint (built from its Go module by
scripts/bootstrap.sh, with shellcheck for the run scripts) finds nothing; every action is
pinned to a commit; the test job runs where the bootstrap installs every tool the tests
call; images are built, scanned and pushed; Terraform is planned per environment through
OIDC with no stored key; the kind overlay runs a scenario end to end."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.k8s.conftest import REPO

WORKFLOWS = REPO / ".github" / "workflows"
FILES = sorted(WORKFLOWS.glob("*.yml"))
#: owner/repo@<40 hex> # vX.Y.Z
PINNED = re.compile(r"^[\w.-]+/[\w.-]+(/[\w./-]+)?@[0-9a-f]{40}$")


def actionlint() -> str:
    path = shutil.which("actionlint")
    if path is None:
        pytest.fail("actionlint is required (scripts/bootstrap.sh --with-tools builds it from "
                    "its Go module) and is not installed")
    return path


def load(path: Path) -> dict[str, Any]:
    doc = yaml.safe_load(path.read_text())
    # YAML 1.1 reads the key `on` as True
    doc["on"] = doc.pop(True, doc.get("on"))
    return doc


def steps(doc: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [(job, step) for job, body in doc["jobs"].items() for step in body.get("steps", [])]


def test_there_are_the_four_workflows() -> None:
    assert {p.name for p in FILES} >= {"ci.yml", "images.yml", "terraform.yml", "e2e-kind.yml"}


def test_actionlint_finds_nothing() -> None:
    assert shutil.which("shellcheck"), "shellcheck checks the run scripts (Debian: shellcheck)"
    proc = subprocess.run([actionlint(), "-no-color", *map(str, FILES)], capture_output=True,
                          text=True, timeout=120, cwd=REPO)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_actionlint_reports_a_broken_workflow(tmp_path: Path) -> None:
    broken = tmp_path / ".github" / "workflows" / "broken.yml"
    broken.parent.mkdir(parents=True)
    broken.write_text("on: push\njobs:\n  x:\n    runs-on: ubuntu-24.04\n    steps:\n"
                      "      - run: echo ${{ github.nope }}\n")
    proc = subprocess.run([actionlint(), "-no-color", str(broken)], capture_output=True,
                          text=True, timeout=60, cwd=tmp_path)
    assert proc.returncode == 1 and "nope" in proc.stdout


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_every_action_is_pinned_to_a_commit(path: Path) -> None:
    lines = [line.strip() for line in path.read_text().splitlines()
             if re.match(r"\s*(- )?uses:", line)]
    assert lines, path.name
    for line in lines:
        ref, _, comment = line.split("uses:", 1)[1].partition("#")
        assert PINNED.match(ref.strip()), f"{path.name}: {line}"
        assert re.match(r"\s*v\d+\.\d+\.\d+$", comment), f"{path.name}: name the tag: {line}"


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_every_workflow_starts_read_only_and_times_out(path: Path) -> None:
    doc = load(path)
    assert doc["permissions"] == {"contents": "read"}, path.name
    for name, job in doc["jobs"].items():
        assert job.get("timeout-minutes"), f"{path.name}: {name}"
        granted = job.get("permissions", {})
        assert set(granted) <= {"contents", "id-token"}, f"{path.name}: {name}"


def test_the_test_job_runs_where_the_bootstrap_installs_every_tool() -> None:
    job = load(WORKFLOWS / "ci.yml")["jobs"]["test"]
    # Debian 12 (the project's machine), with the privileges the test cluster needs
    assert "bookworm" in job["container"]["image"]
    assert "--privileged" in job["container"]["options"]
    runs = [s.get("run", "") for s in job["steps"]]
    assert any(r.startswith("bash scripts/test.sh") for r in runs)
    assert any(s.get("uses", "").startswith("actions/setup-go") for s in job["steps"])
    test_sh = (REPO / "scripts/test.sh").read_text()
    assert "bootstrap.sh --with-browser --with-cluster" in test_sh
    bootstrap = (REPO / "scripts/bootstrap.sh").read_text()
    assert "--with-cluster) with_cluster=1; with_tools=1" in bootstrap
    # every program the tests call, and who installs it
    for program in ("terraform", "actionlint", "amtool", "shellcheck", "git", "promtool",
                    "chromium"):
        assert program in bootstrap, program
    assert "install-tools" in test_sh  # kubectl, from the cluster's build


def test_images_are_built_scanned_and_pushed_on_main_only() -> None:
    doc = load(WORKFLOWS / "images.yml")
    uses = [s.get("uses", "").split("@")[0] for _, s in steps(doc)]
    assert {"docker/setup-buildx-action", "docker/build-push-action",
            "aquasecurity/trivy-action"} <= set(uses)
    build = doc["jobs"]["build-and-scan"]
    assert set(build["strategy"]["matrix"]["image"]) == {"tradeplat", "tradestorm-loadgen"}
    scan = next(s for s in build["steps"] if "trivy" in s.get("uses", ""))
    assert scan["with"]["exit-code"] == "1" and "CRITICAL" in scan["with"]["severity"]
    push = doc["jobs"]["push"]
    assert "refs/heads/main" in push["if"] and push["needs"] == "build-and-scan"
    assert push["permissions"]["id-token"] == "write"
    assert not any(s.get("with", {}).get("push") for s in build["steps"])


def test_terraform_is_planned_per_environment_through_oidc() -> None:
    doc = load(WORKFLOWS / "terraform.yml")
    static = " ".join(s.get("run", "") for s in doc["jobs"]["static"]["steps"])
    assert "terraform fmt -check" in static and "terraform" in static and "validate" in static
    plan = doc["jobs"]["plan"]
    assert plan["strategy"]["matrix"]["environment"] == ["dev", "staging", "prod"]
    assert plan["environment"] == "${{ matrix.environment }}"
    assert plan["permissions"]["id-token"] == "write"
    creds = next(s for s in plan["steps"]
                 if s.get("uses", "").startswith("aws-actions/configure-aws-credentials"))
    assert "role-to-assume" in creds["with"]
    assert not {"aws-access-key-id", "aws-secret-access-key"} & set(creds["with"])
    assert any("terraform plan" in s.get("run", "") for s in plan["steps"])
    assert any("is not set" in s.get("run", "") for s in plan["steps"])
    assert "secrets." not in (WORKFLOWS / "terraform.yml").read_text()
    setup = [s for _, s in steps(doc) if "setup-terraform" in s.get("uses", "")]
    assert all(s["with"]["terraform_version"] == "${{ env.TERRAFORM_VERSION }}" for s in setup)
    # the version CI plans with is the one scripts/bootstrap.sh builds for the tests
    bootstrap = (REPO / "scripts/bootstrap.sh").read_text()
    assert f"TERRAFORM_VERSION=v{doc['env']['TERRAFORM_VERSION']}" in bootstrap


def test_the_kind_job_deploys_the_kind_overlay_and_runs_a_scenario() -> None:
    doc = load(WORKFLOWS / "e2e-kind.yml")
    job = doc["jobs"]["kind"]
    runs = "\n".join(s.get("run", "") for s in job["steps"])
    assert any(s.get("uses", "").startswith("helm/kind-action") for s in job["steps"])
    assert "kind load docker-image tradeplat:dev tradestorm-loadgen:dev" in runs
    assert re.search(r"tradestorm up --target kubernetes .*\n?.*--overlay kind", runs)
    assert re.search(r"tradestorm run \"\$SCENARIO\" --target kubernetes", runs)
    upload = next(s for s in job["steps"] if "upload-artifact" in s.get("uses", ""))
    assert upload["if"] == "${{ always() }}" and "RESULTS_DIR" in upload["with"]["path"]
    # the chart versions are terraform's (modules/addons)
    addons = REPO / "terraform/modules/addons"
    for chart, tf in (("metrics-server", "metrics_server.tf"),
                      ("kube-prometheus-stack", "kube_prometheus_stack.tf")):
        version = re.search(r'version\s+= "([\d.]+)"', (addons / tf).read_text()).group(1)
        assert re.search(rf"/{chart}[ \\\n]+--version {re.escape(version)}\b", runs), chart
    # images the kind overlay names are the ones built and loaded
    kind = (REPO / "k8s/overlays/kind/kustomization.yaml").read_text()
    assert "newTag: dev" in kind
