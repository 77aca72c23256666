"""Static checks of terraform/: every file parses (python-hcl2) and is
formatted (terraform fmt); registry modules, providers and Helm charts are
pinned; each environment is a thin root with an S3 backend with locking and
an assumed deploy role; nothing names an account id or a credential."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.terraform.hcl import blocks, labelled2, load

REPO = Path(__file__).resolve().parents[2]
TF = REPO / "terraform"
TF_FILES = sorted(p for p in TF.rglob("*.tf") if ".terraform" not in p.parts)
ENVIRONMENTS = ("dev", "staging", "prod")
EXACT = re.compile(r"^\d+\.\d+\.\d+$")


def terraform_blocks(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return doc.get("terraform", [])


def required_providers(path: Path) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for block in terraform_blocks(load(path)):
        for rp in block.get("required_providers", []):
            out.update(rp)
    return out


def test_there_is_terraform_to_check() -> None:
    assert len(TF_FILES) >= 30
    assert {p.parent.name for p in TF_FILES} >= {"network", "eks", "addons", "ecr", *ENVIRONMENTS}


@pytest.mark.parametrize("path", TF_FILES, ids=lambda p: str(p.relative_to(TF)))
def test_every_file_parses(path: Path) -> None:
    assert isinstance(load(path), dict)


def test_terraform_fmt() -> None:
    terraform = shutil.which("terraform")
    if terraform is None:
        pytest.fail("terraform is required for `terraform fmt -check` and is not installed")
    proc = subprocess.run([terraform, "fmt", "-check", "-recursive", "-list=true", str(TF)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, f"not formatted: {proc.stdout}{proc.stderr}"


def _modules() -> list[tuple[Path, str, dict[str, Any]]]:
    return [(p, name, body) for p in TF_FILES for name, body in blocks(load(p), "module").items()]


def test_registry_modules_are_pinned_to_exact_versions() -> None:
    registry = [(p, n, b) for p, n, b in _modules() if not b["source"].startswith("./")
                and not b["source"].startswith("../")]
    sources = {b["source"].split("//")[0] for _, _, b in registry}
    assert {"terraform-aws-modules/vpc/aws", "terraform-aws-modules/eks/aws"} <= sources
    for path, name, body in registry:
        assert EXACT.match(body.get("version", "")), f"{path}: module {name} is not pinned"


def test_local_modules_exist() -> None:
    for path, name, body in _modules():
        if body["source"].startswith("."):
            assert (path.parent / body["source"]).resolve().is_dir(), f"{path}: {name}"


def test_every_module_and_root_declares_pinned_providers() -> None:
    dirs = {p.parent for p in TF_FILES}
    for d in dirs:
        if d.name == "templates":
            continue
        providers = required_providers(d / "versions.tf")
        assert providers, f"{d}: no required_providers"
        for name, spec in providers.items():
            assert "/" in spec["source"], f"{d}: {name} has no source"
            version = spec.get("version", "")
            if d.parent.name == "environments":
                assert EXACT.match(version), f"{d}: provider {name} must be exact, got {version!r}"
            else:  # a module bounds the range on both sides
                assert ">=" in version and "<" in version.replace("<=", "<"), (d, name, version)
        versions_tf = load(d / "versions.tf")
        assert "required_version" in terraform_blocks(versions_tf)[0], d


def test_the_roots_pin_every_provider_their_modules_need() -> None:
    needed = set()
    for d in {p.parent for p in TF_FILES if "modules" in p.parts}:
        needed |= set(required_providers(d / "versions.tf"))
    for env in ENVIRONMENTS:
        assert needed <= set(required_providers(TF / "environments" / env / "versions.tf")), env


def test_helm_charts_are_pinned_and_cover_the_addons() -> None:
    releases = {}
    for p in TF_FILES:
        for (rtype, _name), body in labelled2(load(p), "resource").items():
            if rtype == "helm_release":
                releases[body["chart"]] = body
    assert {"kube-prometheus-stack", "metrics-server", "chaos-mesh",
            "aws-load-balancer-controller"} <= set(releases)
    for chart, body in releases.items():
        if chart.startswith("${path.module}"):
            continue  # a chart of this repository
        assert EXACT.match(body.get("version", "")), f"chart {chart} is not pinned"
        assert body["repository"].startswith("https://"), chart


def test_there_is_an_ecr_repository_per_image() -> None:
    ecr = load(TF / "modules/ecr/main.tf")
    repo = labelled2(ecr, "resource")[("aws_ecr_repository", "this")]
    assert repo["image_tag_mutability"] == "IMMUTABLE"
    variables = blocks(load(TF / "modules/ecr/variables.tf"), "variable")
    assert variables["repositories"]["default"] == ["tradeplat", "tradestorm-loadgen"]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_each_environment_has_an_s3_backend_with_locking(env: str) -> None:
    backends = [b for t in terraform_blocks(load(TF / "environments" / env / "backend.tf"))
                for b in t.get("backend", [])]
    assert len(backends) == 1 and list(backends[0]) == ["s3"]
    s3 = backends[0]["s3"]
    assert s3["encrypt"] is True
    assert s3.get("use_lockfile") is True or "dynamodb_table" in s3
    assert "bucket" not in s3, "the bucket is account-specific: give it at init"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_each_environment_assumes_its_deploy_role(env: str) -> None:
    doc = load(TF / "environments" / env / "providers.tf")
    aws = next(p["aws"] for p in doc["provider"] if "aws" in p)
    assume = aws["assume_role"][0]
    assert assume["role_arn"] == "${var.deploy_role_arn}"
    variables = blocks(load(TF / "environments" / env / "variables.tf"), "variable")
    assert "default" not in variables["deploy_role_arn"], "the role comes from CI, per account"
    tfvars = load(TF / "environments" / env / "terraform.tfvars")
    assert "deploy_role_arn" not in tfvars
    assert tfvars["environment"] == env
    assert tfvars["expected_account_alias"].endswith(env)


def test_environments_are_thin_roots_with_identical_code() -> None:
    names = {env: sorted(p.name for p in (TF / "environments" / env).glob("*.tf"))
             for env in ENVIRONMENTS}
    assert len({tuple(v) for v in names.values()}) == 1, names
    for name in names["dev"]:
        texts = {(TF / "environments" / env / name).read_text() for env in ENVIRONMENTS}
        assert len(texts) == 1, f"{name} differs between environments: move it to tfvars"
    main = load(TF / "environments/dev/main.tf")
    assert all(b["source"].startswith("../../modules/") for b in blocks(main, "module").values())
    assert "resource" not in main


def test_the_account_guard_compares_the_alias_not_an_id() -> None:
    guard = load(TF / "environments/dev/guard.tf")
    res = labelled2(guard, "resource")[("terraform_data", "account_guard")]
    condition = res["lifecycle"][0]["precondition"][0]["condition"]
    assert "account_alias" in condition and "var.expected_account_alias" in condition


def test_the_vpc_cni_enforces_network_policies() -> None:
    text = (TF / "modules/eks/main.tf").read_text()
    assert re.search(r'enableNetworkPolicy\s*=\s*"true"', text)


def test_prometheus_picks_up_the_k8s_monitors_and_dashboards() -> None:
    text = (TF / "modules/addons/kube_prometheus_stack.tf").read_text()
    for setting in ("serviceMonitorSelectorNilUsesHelmValues = false",
                    "podMonitorSelectorNilUsesHelmValues     = false",
                    "ruleSelectorNilUsesHelmValues           = false",
                    'searchNamespace  = "ALL"', 'namespace        = "monitoring"'):
        assert setting in text, setting


ACCOUNT_ID = re.compile(r"(?<![0-9.])\d{12}(?![0-9])")
CREDENTIAL = re.compile(r"(?i)(access_key|secret_key|aws_secret_access_key|token)\s*=\s*\"[^\"$]")


def _tf_texts() -> list[tuple[Path, str]]:
    files = [*TF_FILES, *TF.rglob("*.tfvars"), *TF.rglob("*.hcl"), *TF.rglob("*.yaml")]
    return [(p, p.read_text()) for p in files if ".terraform" not in p.parts]


def test_no_account_ids_or_credentials() -> None:
    findings = []
    for path, text in _tf_texts():
        for line_no, line in enumerate(text.splitlines(), 1):
            if ACCOUNT_ID.search(line) or CREDENTIAL.search(line) or "arn:aws:iam::" in line \
                    and not re.search(r"arn:aws[a-z-]*:iam::\[0-9\]", line):
                findings.append(f"{path.relative_to(REPO)}:{line_no}: {line.strip()}")
    assert findings == []


@pytest.mark.parametrize("line", [
    'role_arn = "arn:aws:iam::123456789012:role/deploy"',
    'access_key = "AKIAIOSFODNN7EXAMPLE"',
    "allowed_account_ids = [210987654321]",
])
def test_the_account_check_finds_planted_values(line: str) -> None:
    assert ACCOUNT_ID.search(line) or CREDENTIAL.search(line)


def test_no_state_or_provider_cache_is_committed() -> None:
    out = subprocess.run(["git", "ls-files", "terraform"], cwd=REPO, capture_output=True,
                         text=True, check=True).stdout.splitlines()
    assert not [f for f in out if ".tfstate" in f or "/.terraform/" in f]


def test_every_variable_and_output_is_documented_and_typed() -> None:
    bad = []
    for path in TF_FILES:
        doc = load(path)
        for name, body in blocks(doc, "variable").items():
            if not body.get("description"):
                bad.append(f"{path.relative_to(TF)}: variable {name} has no description")
            if "type" not in body:
                bad.append(f"{path.relative_to(TF)}: variable {name} has no type")
        for name, body in blocks(doc, "output").items():
            if not body.get("description"):
                bad.append(f"{path.relative_to(TF)}: output {name} has no description")
    assert bad == []


def test_every_root_variable_without_default_is_set_by_tfvars_or_ci() -> None:
    from_ci = {"deploy_role_arn"}
    variables = blocks(load(TF / "environments/dev/variables.tf"), "variable")
    required = {n for n, b in variables.items() if "default" not in b}
    for env in ENVIRONMENTS:
        tfvars = set(load(TF / "environments" / env / "terraform.tfvars"))
        assert required - from_ci <= tfvars, (env, required - from_ci - tfvars)
        assert tfvars <= set(variables), (env, tfvars - set(variables))


def test_module_arguments_match_the_module_variables() -> None:
    """A thin root passes only arguments its local modules declare, and every required one."""
    main = load(TF / "environments/dev/main.tf")
    for name, body in blocks(main, "module").items():
        module_dir = (TF / "environments/dev" / body["source"]).resolve()
        declared = {}
        for path in module_dir.glob("*.tf"):
            declared.update(blocks(load(path), "variable"))
        passed = set(body) - {"source", "version", "depends_on", "providers", "count",
                              "for_each"}
        assert passed <= set(declared), (name, passed - set(declared))
        required = {n for n, b in declared.items() if "default" not in b}
        assert required <= passed, (name, required - passed)


def test_every_module_output_a_root_uses_exists() -> None:
    main = load(TF / "environments/dev/main.tf")
    outputs_of = {}
    for name, body in blocks(main, "module").items():
        module_dir = (TF / "environments/dev" / body["source"]).resolve()
        outputs_of[name] = {o for p in module_dir.glob("*.tf") for o in blocks(load(p), "output")}
    used = set()
    for path in (TF / "environments/dev").glob("*.tf"):
        used |= set(re.findall(r"module\.(\w+)\.(\w+)", path.read_text()))
    assert used
    missing = {(m, o) for m, o in used if o not in outputs_of.get(m, set())}
    assert missing == set()
