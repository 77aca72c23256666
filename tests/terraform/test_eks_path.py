"""The EKS path's Terraform: nodes that follow the HPAs (Cluster Autoscaler through IRSA),
alerts that reach someone (Alertmanager routes by severity, receivers' credentials from
Secrets Manager, checked with amtool), Grafana's admin password from a secret, Loki as a
Grafana data source, backups in a KMS-encrypted S3 bucket with lifecycle rules and a Pod
Identity role, and inputs refused by terraform itself before anything is planned."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from tests.k8s.crd_schemas import EXTERNAL_SECRET
from tests.terraform.hcl import blocks, labelled2, load

REPO = Path(__file__).resolve().parents[2]
TF = REPO / "terraform"
ADDONS = TF / "modules" / "addons"
BACKUPS = TF / "modules" / "backups"
STACK = TF / "modules" / "stack"
ENVS = TF / "environments"
ENVIRONMENTS = ("dev", "staging", "prod")
SECRETS_MOUNT = "/etc/alertmanager/secrets/alertmanager-receivers/"


def _resources(directory: Path) -> dict[tuple[str, str], Any]:
    out: dict[tuple[str, str], Any] = {}
    for path in sorted(directory.glob("*.tf")):
        out.update(labelled2(load(path), "resource"))
    return out


def _modules(directory: Path) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for path in sorted(directory.glob("*.tf")):
        out.update(blocks(load(path), "module"))
    return out


def _tool(name: str, package: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is required (Debian package {package}; scripts/bootstrap.sh "
                    "--with-tools) and is not installed")
    return path


# ---------------------------------------------------------------- nodes follow the HPAs

def test_the_cluster_autoscaler_runs_with_an_irsa_role_scoped_to_the_cluster() -> None:
    release = _resources(ADDONS)[("helm_release", "cluster_autoscaler")]
    assert release["chart"] == "cluster-autoscaler"
    assert release["repository"] == "https://kubernetes.github.io/autoscaler"
    irsa = _modules(ADDONS)["cluster_autoscaler_irsa"]
    assert irsa["source"].endswith("//modules/iam-role-for-service-accounts-eks")
    assert irsa["attach_cluster_autoscaler_policy"] is True
    assert irsa["cluster_autoscaler_cluster_names"] == ["${var.cluster_name}"]
    accounts = irsa["oidc_providers"]["main"]["namespace_service_accounts"]
    assert accounts == ["kube-system:cluster-autoscaler"]
    text = (ADDONS / "cluster_autoscaler.tf").read_text()
    assert '"cluster-autoscaler"' in text and "module.cluster_autoscaler_irsa.iam_role_arn" in text
    assert "clusterName = var.cluster_name" in text  # auto-discovery of the node group


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_each_environment_gives_the_autoscaler_its_kubernetes_minor(env: str) -> None:
    stack = blocks(load(ENVS / env / "main.tf"), "module")["stack"]
    minor = stack["kubernetes_version"]
    assert stack["cluster_autoscaler_image_tag"].startswith(f"v{minor}."), env
    assert stack["node_max_size"] > stack["node_min_size"], env


def test_the_eks_module_leaves_the_desired_size_to_the_autoscaler() -> None:
    variables = blocks(load(TF / "modules/eks/variables.tf"), "variable")
    assert "autoscaler owns it" in variables["node_desired_size"]["description"]


# ---------------------------------------------------------------- alerts reach someone

@pytest.fixture(scope="module")
def alertmanager() -> dict[str, Any]:
    return yaml.safe_load((ADDONS / "alertmanager.yaml").read_text())


def test_amtool_accepts_the_alertmanager_configuration() -> None:
    proc = subprocess.run([_tool("amtool", "prometheus-alertmanager"), "check-config",
                           str(ADDONS / "alertmanager.yaml")], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_amtool_rejects_a_broken_configuration(tmp_path: Path,
                                               alertmanager: dict[str, Any]) -> None:
    broken = dict(alertmanager, route={**alertmanager["route"], "receiver": "nobody"})
    path = tmp_path / "alertmanager.yaml"
    path.write_text(yaml.safe_dump(broken))
    proc = subprocess.run([_tool("amtool", "prometheus-alertmanager"), "check-config",
                           str(path)], capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0 and "nobody" in proc.stdout + proc.stderr


def _route_of(alertmanager: dict[str, Any], labels: dict[str, str]) -> str:
    """The receiver Alertmanager picks for an alert with these labels (first matching route;
    equality matchers, as this configuration uses)."""
    for route in alertmanager["route"].get("routes", []):
        wanted = dict(re.fullmatch(r'(\w+) = "(.*)"', m).groups() for m in route["matchers"])
        if all(labels.get(k) == v for k, v in wanted.items()):
            return route["receiver"]
    return alertmanager["route"]["receiver"]


def test_alerts_are_routed_by_severity(alertmanager: dict[str, Any]) -> None:
    receivers = {r["name"]: r for r in alertmanager["receivers"]}
    critical = receivers[_route_of(alertmanager, {"alertname": "TradestormErrorBudgetBurnFast",
                                                  "severity": "critical"})]
    warning = receivers[_route_of(alertmanager, {"alertname": "TradestormErrorBudgetBurnSlow",
                                                 "severity": "warning"})]
    assert critical.get("pagerduty_configs") and critical.get("slack_configs")
    assert warning.get("slack_configs") and not warning.get("pagerduty_configs")
    assert _route_of(alertmanager, {"alertname": "Watchdog", "severity": "none"}) == "blackhole"
    # every severity the PrometheusRule uses has a route of its own
    rule = yaml.safe_load((REPO / "k8s/base/monitoring/prometheusrule.yaml").read_text())
    severities = {r["labels"]["severity"] for g in rule["spec"]["groups"]
                  for r in g["rules"] if "alert" in r}
    for severity in severities:
        assert _route_of(alertmanager, {"severity": severity}) != "blackhole", severity


def test_receivers_read_their_credentials_from_the_mounted_secret(
    alertmanager: dict[str, Any],
) -> None:
    text = (ADDONS / "alertmanager.yaml").read_text()
    assert "hooks.slack.com" not in text and "events.pagerduty.com" not in text
    for receiver in alertmanager["receivers"]:
        for slack in receiver.get("slack_configs", []):
            assert "api_url" not in slack and slack["api_url_file"].startswith(SECRETS_MOUNT)
        for pd in receiver.get("pagerduty_configs", []):
            assert not {"routing_key", "service_key"} & set(pd)
            assert pd["routing_key_file"].startswith(SECRETS_MOUNT)
    stack = (ADDONS / "kube_prometheus_stack.tf").read_text()
    assert 'yamldecode(file("${path.module}/alertmanager.yaml"))' in stack
    assert 'secrets  = ["alertmanager-receivers"]' in stack


def _external_secrets() -> dict[str, dict[str, Any]]:
    template = (ADDONS / "charts/observability-secrets/templates/external-secrets.yaml")
    text = re.sub(r"\{\{-? .*? -?\}\}", "x", template.read_text().replace(
        "{{ `{{ .GRAFANA_ADMIN_PASSWORD }}` }}", "{{ .GRAFANA_ADMIN_PASSWORD }}"
    ).replace("{{ .GRAFANA_ADMIN_PASSWORD }}", "GRAFANA_ADMIN_PASSWORD"))
    docs = [d for d in yaml.safe_load_all(text) if d]
    return {d["metadata"]["name"]: d for d in docs}


def test_the_receivers_and_grafana_secrets_come_from_secrets_manager() -> None:
    secrets = _external_secrets()
    assert set(secrets) == {"grafana-admin", "alertmanager-receivers"}
    for secret in secrets.values():  # the same structural schema as the overlays' ExternalSecret
        jsonschema.validate(secret, EXTERNAL_SECRET)
        assert secret["spec"]["secretStoreRef"] == {"kind": "ClusterSecretStore", "name": "x"}
    receivers = secrets["alertmanager-receivers"]["spec"]
    files = {d["secretKey"]: d["remoteRef"]["property"] for d in receivers["data"]}
    assert files == {"slack-webhook-url": "SLACK_WEBHOOK_URL",
                     "pagerduty-routing-key": "PAGERDUTY_ROUTING_KEY"}
    alertmanager = (ADDONS / "alertmanager.yaml").read_text()
    for key in files:
        assert SECRETS_MOUNT + key in alertmanager, key
    grafana = secrets["grafana-admin"]["spec"]
    assert grafana["target"]["template"]["data"]["admin-password"] == "GRAFANA_ADMIN_PASSWORD"
    assert [d["remoteRef"]["property"] for d in grafana["data"]] == ["GRAFANA_ADMIN_PASSWORD"]
    # the chart of kube-prometheus-stack reads that Secret instead of its default password
    stack = (ADDONS / "kube_prometheus_stack.tf").read_text()
    assert 'existingSecret = "grafana-admin"' in stack and "adminPassword" not in stack
    assert "depends_on = [helm_release.observability_secrets]" in stack
    # the secret exists, KMS-encrypted, with no value in terraform
    resources = _resources(TF / "modules/platform-secrets")
    assert ("aws_secretsmanager_secret", "observability") in resources
    assert not any(kind == "aws_secretsmanager_secret_version" for kind, _ in resources)
    # External Secrets may read it, and the store serves namespace monitoring
    irsa = _modules(ADDONS)["external_secrets_irsa"]
    assert "${var.observability_secret_arn}" in irsa["external_secrets_secrets_manager_arns"]
    assert "monitoring" in (ADDONS / "external_secrets.tf").read_text()


def test_grafana_gets_loki_when_loki_is_installed() -> None:
    stack = (ADDONS / "kube_prometheus_stack.tf").read_text()
    assert re.search(r"grafana_datasources = var\.enable_loki \?", stack)
    assert "additionalDataSources = local.grafana_datasources" in stack
    sources = yaml.safe_load((ADDONS / "grafana-datasources.yaml").read_text())
    loki = next(s for s in sources if s["type"] == "loki")
    loki_tf = (ADDONS / "loki.tf").read_text()
    assert 'namespace        = "logging"' in loki_tf and "auth_enabled = true" in loki_tf
    assert loki["url"] == "http://loki-gateway.logging.svc.cluster.local"
    assert loki["jsonData"]["httpHeaderName1"] == "X-Scope-OrgID"


# ---------------------------------------------------------------- backups off the cluster

def test_the_backups_bucket_is_kms_encrypted_versioned_private_and_expires_dumps() -> None:
    res = _resources(BACKUPS)
    sse = res[("aws_s3_bucket_server_side_encryption_configuration", "this")]
    default = sse["rule"][0]["apply_server_side_encryption_by_default"][0]
    assert default["sse_algorithm"] == "aws:kms"
    assert default["kms_master_key_id"] == "${aws_kms_key.this.arn}"
    assert res[("aws_kms_key", "this")]["enable_key_rotation"] is True
    versioning = res[("aws_s3_bucket_versioning", "this")]
    assert versioning["versioning_configuration"][0]["status"] == "Enabled"
    public = res[("aws_s3_bucket_public_access_block", "this")]
    assert all(public[k] is True for k in ("block_public_acls", "block_public_policy",
                                           "ignore_public_acls", "restrict_public_buckets"))
    rule = res[("aws_s3_bucket_lifecycle_configuration", "this")]["rule"][0]
    assert rule["status"] == "Enabled" and rule["filter"][0]["prefix"] == "postgres/"
    assert rule["expiration"][0]["days"] == "${var.expire_after_days}"
    assert rule["transition"][0]["storage_class"] == "STANDARD_IA"
    assert "noncurrent_version_expiration" in rule
    text = (BACKUPS / "main.tf").read_text()
    assert '"aws:SecureTransport"' in text  # TLS only


def test_only_the_backup_service_account_reaches_the_bucket() -> None:
    res = _resources(BACKUPS)
    association = res[("aws_eks_pod_identity_association", "backup")]
    assert association["namespace"] == "${var.namespace}"
    assert association["service_account"] == "${var.service_account}"
    text = (BACKUPS / "main.tf").read_text()
    assert '"pods.eks.amazonaws.com"' in text
    assert '"${aws_s3_bucket.this.arn}/postgres/*"' in text
    assert '"s3:*"' not in text.split('data "aws_iam_policy_document" "access"')[1]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_each_environment_keeps_its_dumps_long_enough(env: str) -> None:
    stack = blocks(load(ENVS / env / "main.tf"), "module")["stack"]
    days = stack["backup_expire_after_days"]
    assert days > 30, env  # longer than the on-cluster 14 days and STANDARD_IA's 30
    backups = blocks(load(STACK / "main.tf"), "module")["backups"]
    assert backups["bucket_name"] == "${var.expected_account_alias}-postgres-backups"


# ---------------------------------------------------------------- inputs refused early

def _terraform() -> str:
    path = shutil.which("terraform")
    if path is None:
        pytest.fail("terraform is required (scripts/bootstrap.sh --with-tools builds it from "
                    "its Go module) and is not installed")
    return path


def _plan_inputs(tmp_path: Path, env: str, tfvars: str) -> subprocess.CompletedProcess:
    """``terraform plan`` of the root's own input declarations (variables.tf, copied alone:
    no provider or module to download) with a tfvars file, as CI would pass it."""
    root = tmp_path / env
    root.mkdir()
    shutil.copy(ENVS / env / "variables.tf", root / "variables.tf")
    (root / "inputs.tfvars").write_text(tfvars)
    env_vars = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "TF_IN_AUTOMATION": "1",
                "TF_CLI_CONFIG_FILE": "/dev/null", "CHECKPOINT_DISABLE": "1"}
    init = subprocess.run([_terraform(), "init", "-input=false", "-backend=false"], cwd=root,
                          capture_output=True, text=True, timeout=120, env=env_vars)
    assert init.returncode == 0, init.stdout + init.stderr
    return subprocess.run([_terraform(), "plan", "-input=false", "-lock=false",
                           "-var-file=inputs.tfvars"], cwd=root, capture_output=True,
                          text=True, timeout=120, env=env_vars)


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_a_tfvars_without_the_deploy_role_is_refused_naming_the_field(
    env: str, tmp_path: Path,
) -> None:
    proc = _plan_inputs(tmp_path, env, 'admin_role_arns = []\n')
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "No value for required variable" in out
    assert 'variable "deploy_role_arn"' in out and "variables.tf" in out


def test_a_malformed_deploy_role_is_refused_naming_the_file_and_field(tmp_path: Path) -> None:
    proc = _plan_inputs(tmp_path, "dev", 'deploy_role_arn = "123456789012"\n')
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "deploy_role_arn must be an IAM role ARN" in out and "inputs.tfvars" in out


def test_complete_inputs_are_accepted(tmp_path: Path) -> None:
    proc = _plan_inputs(tmp_path, "prod",
                        'deploy_role_arn = "arn:aws:iam::123456789012:role/deploy"\n')
    assert proc.returncode == 0, proc.stdout + proc.stderr
