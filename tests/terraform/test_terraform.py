"""Static checks of terraform/: every file parses (python-hcl2) and is
formatted (terraform fmt); registry modules, providers and Helm charts are
pinned; each environment is a thin root (S3 backend with locking, providers
with an assumed deploy role, one call of modules/stack with its settings) and
the account guard lives in that one composition; nothing names an account id or
a credential."""

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
ENVS = TF / "environments"
STACK = TF / "modules/stack"
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
    assert {p.parent.name for p in TF_FILES} >= {"network", "eks", "addons", "ecr", "stack",
                                                  *ENVIRONMENTS}


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
        assert needed <= set(required_providers(ENVS / env / "versions.tf")), env


def test_helm_charts_are_pinned_and_cover_the_addons() -> None:
    releases = {}
    for p in TF_FILES:
        for (rtype, _name), body in labelled2(load(p), "resource").items():
            if rtype == "helm_release":
                releases[body["chart"]] = body
    assert {"kube-prometheus-stack", "metrics-server", "chaos-mesh",
            "aws-load-balancer-controller", "cluster-autoscaler"} <= set(releases)
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


def _root_docs(env: str) -> dict[str, dict[str, Any]]:
    return {p.name: load(p) for p in sorted((ENVS / env).glob("*.tf"))}


def _stack_call(env: str) -> dict[str, Any]:
    modules = blocks(load(ENVS / env / "main.tf"), "module")
    assert list(modules) == ["stack"], f"{env}: one module call, of modules/stack"
    return modules["stack"]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_each_environment_has_an_s3_backend_with_locking(env: str) -> None:
    backends = [b for doc in _root_docs(env).values() for t in terraform_blocks(doc)
                for b in t.get("backend", [])]
    assert len(backends) == 1 and list(backends[0]) == ["s3"]
    s3 = backends[0]["s3"]
    assert s3["encrypt"] is True
    assert s3.get("use_lockfile") is True or "dynamodb_table" in s3
    assert "bucket" not in s3, "the bucket is account-specific: give it at init"
    assert "backend" in terraform_blocks(load(ENVS / env / "versions.tf"))[0]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_each_environment_assumes_its_deploy_role(env: str) -> None:
    doc = load(ENVS / env / "providers.tf")
    aws = next(p["aws"] for p in doc["provider"] if "aws" in p)
    assume = aws["assume_role"][0]
    assert assume["role_arn"] == "${var.deploy_role_arn}"
    variables = blocks(load(ENVS / env / "variables.tf"), "variable")
    assert "default" not in variables["deploy_role_arn"], "the role comes from CI, per account"
    for tfvars in (ENVS / env).glob("*.tfvars"):
        assert "deploy_role_arn" not in load(tfvars), tfvars
    stack = _stack_call(env)
    assert "deploy_role_arn" not in stack, "the role reaches AWS through the provider only"
    assert stack["environment"] == env
    assert stack["expected_account_alias"] == f"tradestorm-{env}"


def test_environments_are_thin_roots_with_identical_code() -> None:
    """Every root holds the same files; only main.tf (this environment's settings) differs,
    and only in values: the wiring, the guard and every resource live in modules/stack."""
    names = {env: sorted(p.name for p in (ENVS / env).glob("*.tf")) for env in ENVIRONMENTS}
    assert len({tuple(v) for v in names.values()}) == 1, names
    for name in names["dev"]:
        if name == "main.tf":
            continue
        texts = {(ENVS / env / name).read_text() for env in ENVIRONMENTS}
        assert len(texts) == 1, f"{name} differs between environments: move it to main.tf"
    for env in ENVIRONMENTS:
        for name, doc in _root_docs(env).items():
            assert not {"resource", "data"} & set(doc), (
                f"{env}/{name}: resources belong in modules/stack")
        main = load(ENVS / env / "main.tf")
        assert set(main) <= {"locals", "module"}, (env, set(main))
        assert _stack_call(env)["source"] == "../../modules/stack"
    argument_names = {env: sorted(_stack_call(env)) for env in ENVIRONMENTS}
    assert len({tuple(v) for v in argument_names.values()}) == 1, argument_names
    stack = load(STACK / "main.tf")
    assert all(b["source"].startswith("../") for b in blocks(stack, "module").values())
    assert {"network", "eks", "ecr", "platform_secrets", "addons", "backups"} <= \
        set(blocks(stack, "module"))
    assert "resource" not in stack


def test_the_account_guard_compares_the_alias_not_an_id() -> None:
    guard = load(STACK / "guard.tf")
    res = labelled2(guard, "resource")[("terraform_data", "account_guard")]
    condition = res["lifecycle"][0]["precondition"][0]["condition"]
    assert "account_alias" in condition and "var.expected_account_alias" in condition


def test_the_account_guard_comes_before_anything_in_the_account() -> None:
    modules = blocks(load(STACK / "main.tf"), "module")
    for name in ("eks", "ecr", "platform_secrets"):
        assert "${terraform_data.account_guard}" in modules[name].get("depends_on", []), name
    assert "${module.eks}" in modules["addons"]["depends_on"]


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


def test_every_root_variable_without_default_is_set_by_ci() -> None:
    """A root takes from outside only what CI gives; its settings are literal in main.tf."""
    from_ci = {"deploy_role_arn"}
    for env in ENVIRONMENTS:
        variables = blocks(load(ENVS / env / "variables.tf"), "variable")
        required = {n for n, b in variables.items() if "default" not in b}
        assert required <= from_ci, (env, required - from_ci)
        for path in (ENVS / env).glob("*.tfvars"):
            tfvars = set(load(path))
            assert tfvars <= set(variables), (env, tfvars - set(variables))
        used = set()
        for path in (ENVS / env).glob("*.tf"):
            used |= set(re.findall(r"var\.(\w+)", path.read_text()))
        assert set(variables) <= used, (env, set(variables) - used)


def _local_module_calls() -> list[tuple[Path, str, dict[str, Any], Path]]:
    """(file, name, body, module dir) of every call of a module of this repository."""
    return [(p, name, body, (p.parent / body["source"]).resolve())
            for p, name, body in _modules() if body["source"].startswith(".")]


def test_module_arguments_match_the_module_variables() -> None:
    """Roots and the stack pass only the arguments their local modules declare, and every
    required one."""
    calls = _local_module_calls()
    assert {p.parent.name for p, *_ in calls} >= {"stack", *ENVIRONMENTS}
    for path, name, body, module_dir in calls:
        declared = {}
        for tf in module_dir.glob("*.tf"):
            declared.update(blocks(load(tf), "variable"))
        passed = set(body) - {"source", "version", "depends_on", "providers", "count",
                              "for_each"}
        assert passed <= set(declared), (path, name, passed - set(declared))
        required = {n for n, b in declared.items() if "default" not in b}
        assert required <= passed, (path, name, required - passed)


def test_every_module_output_a_root_uses_exists() -> None:
    """Every module.X.Y read in a root or in the stack is an output of module X."""
    callers = {p.parent for p, *_ in _local_module_calls()}
    assert callers >= {STACK, *(ENVS / env for env in ENVIRONMENTS)}
    for caller in callers:
        outputs_of = {}
        for path, name, _body, module_dir in _local_module_calls():
            if path.parent == caller:
                outputs_of[name] = {o for p in module_dir.glob("*.tf")
                                    for o in blocks(load(p), "output")}
        used = set()
        for path in caller.glob("*.tf"):
            used |= set(re.findall(r"module\.(\w+)\.(\w+)", path.read_text()))
        assert used, caller
        missing = {(m, o) for m, o in used if o not in outputs_of.get(m, set())}
        assert missing == set(), caller


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_each_root_passes_the_stack_outputs_through(env: str) -> None:
    outputs = blocks(load(ENVS / env / "outputs.tf"), "output")
    assert set(outputs) == {"cluster_name", "kubeconfig_command", "ecr_registry",
                            "ecr_repository_urls", "platform_secret_name",
                            "observability_secret_name", "backups_bucket"}
    for name, body in outputs.items():
        assert body["value"] == f"${{module.stack.{name}}}", name
