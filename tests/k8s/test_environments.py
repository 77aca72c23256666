"""The EKS environments dev, staging and prod: one overlay per Terraform environment on the
shared ``eks`` base, each sized apart (HPA bounds, volumes, PDBs, quota), and each able to
run at its HPA maxima on its node group grown to its maximum size by the Cluster Autoscaler.

The capacity model (per node: the instance's vCPU and memory, less what EKS reserves for the
kubelet and the system, less the DaemonSets; per cluster: the add-ons Terraform installs)
is written out below so a change of instance type, node group size or requests is checked
against the same numbers a platform engineer would use.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

import pytest
import yaml

from tests.k8s.conftest import OVERLAYS, REPO
from tests.k8s.manifests import by_kind, find, pod_template, ref
from tests.terraform.hcl import blocks, load

ENVIRONMENTS = ("dev", "staging", "prod")
TF_ENVS = REPO / "terraform" / "environments"
ADDONS = REPO / "terraform" / "modules" / "addons"
NAMESPACE = "tradestorm"
PLATFORM = ("gateway", "orders", "risk", "portfolio", "marketdata", "analytics")

#: vCPU and GiB of memory of the instance types the node groups may use
INSTANCE_TYPES = {
    "m5.large": (2, 8), "m6i.large": (2, 8),
    "m5.xlarge": (4, 16), "m6i.xlarge": (4, 16),
    "m5.2xlarge": (8, 32), "m6i.2xlarge": (8, 32),
}
#: what the kernel and firmware keep of the nominal memory
_MEMORY_VISIBLE = 0.93
#: pods per node with prefix delegation (modules/eks: ENABLE_PREFIX_DELEGATION)
_MAX_PODS = 110
#: DaemonSets of the cluster not rendered from k8s/ (aws-node, kube-proxy, ebs-csi-node,
#: eks-pod-identity-agent, node-exporter, chaos-daemon), per node
SYSTEM_DAEMONSETS = (250, 384)  # millicores, MiB
#: add-ons of terraform/modules/addons and the EKS add-ons outside the nodes' DaemonSets,
#: their requests summed: Prometheus 2 x 500m/2Gi (checked below against
#: kube_prometheus_stack.tf), Cluster Autoscaler 2 x 100m/300Mi (cluster_autoscaler.tf),
#: CoreDNS, metrics-server, AWS Load Balancer Controller, External Secrets, Chaos Mesh,
#: Alertmanager, Grafana, kube-state-metrics, the Prometheus Operator, Loki, EBS CSI controller
CLUSTER_ADDONS = (3200, 9 * 1024)
#: the scheduler cannot fill every node to the last millicore
PACKING = 0.9
#: Locust workers a run starts from the locust-worker template (k8s/components/locust)
WORKERS_ANNOTATION = "tradestorm.io/workers"
#: TRADEPLAT_DB_POOL_MAX (k8s/base/config) and PostgreSQL's max_connections (k8s/base/postgres)
POOL_MAX, MAX_CONNECTIONS = 5, 300


def cpu_m(value: str | int | float) -> int:
    text = str(value)
    return int(text[:-1]) if text.endswith("m") else int(float(text) * 1000)


def mem_mi(value: str | int) -> float:
    text = str(value)
    units = {"Ki": 1 / 1024, "Mi": 1, "Gi": 1024, "Ti": 1024 * 1024}
    for suffix, factor in units.items():
        if text.endswith(suffix):
            return float(text[:-2]) * factor
    return int(text) / (1024 * 1024)


@dataclass(frozen=True)
class NodeGroup:
    instance_types: list[str]
    min_size: int
    max_size: int

    def allocatable(self) -> tuple[int, float]:
        """Millicores and MiB one node of the smallest listed type offers to pods."""
        vcpu, gib = min(INSTANCE_TYPES[t] for t in self.instance_types)
        # EKS AMIs' kube-reserved: 6 % of the first core, 1 % of the second, 0.5 % of the
        # next two, 0.25 % of the rest; 255 MiB + 11 MiB per pod; eviction at 100 MiB
        reserved_cpu = 60 + 10 * (vcpu >= 2) + 5 * max(0, min(vcpu, 4) - 2) \
            + 2.5 * max(0, vcpu - 4)
        reserved_mem = 255 + 11 * _MAX_PODS + 100
        return (int(vcpu * 1000 - reserved_cpu), gib * 1024 * _MEMORY_VISIBLE - reserved_mem)


def node_group(env: str) -> NodeGroup:
    stack = blocks(load(TF_ENVS / env / "main.tf"), "module")["stack"]
    return NodeGroup(stack["node_instance_types"], stack["node_min_size"],
                     stack["node_max_size"])


def pod_requests(pod_spec: dict[str, Any]) -> tuple[int, float]:
    """The scheduler's view: containers summed, or the largest init container if larger."""
    def total(containers: list[dict[str, Any]], combine: Any) -> tuple[int, float]:
        cpus = [cpu_m(c["resources"]["requests"]["cpu"]) for c in containers]
        mems = [mem_mi(c["resources"]["requests"]["memory"]) for c in containers]
        return (combine(cpus) if cpus else 0, combine(mems) if mems else 0.0)

    cpu, mem = total(pod_spec["containers"], sum)
    init_cpu, init_mem = total(pod_spec.get("initContainers", []), max)
    return max(cpu, init_cpu), max(mem, init_mem)


def pod_limits_memory(pod_spec: dict[str, Any]) -> float:
    return sum(mem_mi(c["resources"]["limits"]["memory"]) for c in pod_spec["containers"])


@dataclass
class Demand:
    """What namespace tradestorm asks for with every HPA at its maximum."""

    cpu: int = 0
    memory: float = 0.0
    limits_memory: float = 0.0
    surge_cpu: int = 0
    surge_memory: float = 0.0
    largest_pod_cpu: int = 0
    per_node_cpu: int = 0  # the rendered DaemonSets (log shipping)
    per_node_memory: float = 0.0


def demand_at_maxima(objects: list[dict[str, Any]]) -> Demand:
    hpa_max = {h["spec"]["scaleTargetRef"]["name"]: h["spec"]["maxReplicas"]
               for h in by_kind(objects, "HorizontalPodAutoscaler")}
    out = Demand()
    for obj in objects:
        template = pod_template(obj)
        if template is None:
            continue
        cpu, mem = pod_requests(template["spec"])
        if obj["kind"] == "DaemonSet":
            out.per_node_cpu += cpu
            out.per_node_memory += mem
            continue
        assert obj["metadata"]["namespace"] == NAMESPACE, ref(obj)
        name = obj["metadata"]["name"]
        if obj["kind"] == "Deployment":
            count = hpa_max.get(name, obj["spec"].get("replicas", 1))
            # the load generator's workers run as a Job per run, sized by this annotation
            workers = (obj["metadata"].get("annotations") or {}).get(WORKERS_ANNOTATION)
            if workers is not None:
                count = max(count, int(workers))
            surge = obj["spec"].get("strategy", {}).get("rollingUpdate", {}).get("maxSurge", 0)
            extra = math.ceil(count * int(surge[:-1]) / 100) if str(surge).endswith("%") \
                else int(surge)
            out.surge_cpu += extra * cpu
            out.surge_memory += extra * mem
        elif obj["kind"] == "StatefulSet":
            count = obj["spec"].get("replicas", 1)
        else:  # Jobs and CronJobs: counted as if they all ran at once
            count = 1
        out.cpu += count * cpu
        out.memory += count * mem
        out.limits_memory += count * pod_limits_memory(template["spec"])
        out.largest_pod_cpu = max(out.largest_pod_cpu, cpu)
    return out


@pytest.fixture(scope="module", params=ENVIRONMENTS)
def env(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture(scope="module")
def objects(env: str, renders: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    return renders[f"overlay:{env}"]


def test_every_terraform_environment_has_an_overlay_on_the_eks_base() -> None:
    assert sorted(p.name for p in TF_ENVS.iterdir() if p.is_dir()) == sorted(ENVIRONMENTS)
    assert set(ENVIRONMENTS) <= set(OVERLAYS)
    for env in ENVIRONMENTS:
        text = (REPO / "k8s/overlays" / env / "kustomization.yaml").read_text()
        assert "  - ../eks\n" in text, env


def test_the_environments_are_sized_apart(renders: dict[str, list[dict[str, Any]]]) -> None:
    def sizes(env: str) -> tuple[Any, ...]:
        objects = renders[f"overlay:{env}"]
        hpas = tuple(sorted((h["metadata"]["name"], h["spec"]["maxReplicas"])
                            for h in by_kind(objects, "HorizontalPodAutoscaler")))
        pg = find(objects, "StatefulSet", "postgres")["spec"]["volumeClaimTemplates"][0]
        quota = find(objects, "ResourceQuota", "tradestorm")["spec"]["hard"]["requests.cpu"]
        return hpas, pg["spec"]["resources"]["requests"]["storage"], quota

    dev, staging, prod = (sizes(e) for e in ENVIRONMENTS)
    assert dev != staging != prod != dev
    total = {e: sum(m for _, m in sizes(e)[0]) for e in ENVIRONMENTS}
    assert total["dev"] < total["staging"] <= total["prod"], total


def test_each_environment_has_a_quota_and_a_limit_range(objects: list[dict[str, Any]]) -> None:
    quotas = by_kind(objects, "ResourceQuota")
    limits = by_kind(objects, "LimitRange")
    assert [q["metadata"]["namespace"] for q in quotas] == [NAMESPACE]
    assert [lr["metadata"]["namespace"] for lr in limits] == [NAMESPACE]
    container = next(x for x in limits[0]["spec"]["limits"] if x["type"] == "Container")
    assert {"default", "defaultRequest", "max"} <= set(container)
    # no container of ours asks beyond the LimitRange's maximum (it would be refused)
    for obj in objects:
        template = pod_template(obj)
        if template is None or obj["metadata"]["namespace"] != NAMESPACE:
            continue
        for c in template["spec"]["containers"] + template["spec"].get("initContainers", []):
            assert cpu_m(c["resources"]["limits"].get("cpu", "0")) <= \
                cpu_m(container["max"]["cpu"]), (ref(obj), c["name"])
            assert mem_mi(c["resources"]["limits"]["memory"]) <= \
                mem_mi(container["max"]["memory"]), (ref(obj), c["name"])


def test_the_quota_admits_the_hpa_maxima_during_a_rollout(objects: list[dict[str, Any]]
                                                          ) -> None:
    hard = find(objects, "ResourceQuota", "tradestorm")["spec"]["hard"]
    need = demand_at_maxima(objects)
    assert need.cpu + need.surge_cpu <= cpu_m(hard["requests.cpu"]), need
    assert need.memory + need.surge_memory <= mem_mi(hard["requests.memory"]), need
    assert need.limits_memory <= mem_mi(hard["limits.memory"]), need
    storage = sum(mem_mi(t["spec"]["resources"]["requests"]["storage"])
                  for s in by_kind(objects, "StatefulSet")
                  for t in s["spec"].get("volumeClaimTemplates", []))
    storage += sum(mem_mi(p["spec"]["resources"]["requests"]["storage"])
                   for p in by_kind(objects, "PersistentVolumeClaim"))
    assert storage <= mem_mi(hard["requests.storage"])


def test_the_hpa_maxima_fit_the_node_group_at_its_maximum_size(
    env: str, objects: list[dict[str, Any]],
) -> None:
    """Cluster Autoscaler adds nodes up to node_max_size when pods are Pending: at every HPA's
    maximum (plus PostgreSQL, Locust, the Jobs and the cluster's add-ons) the group at its
    maximum must hold them, with room to spare for bin packing."""
    group = node_group(env)
    need = demand_at_maxima(objects)
    node_cpu, node_mem = group.allocatable()
    free_cpu = node_cpu - SYSTEM_DAEMONSETS[0] - need.per_node_cpu
    free_mem = node_mem - SYSTEM_DAEMONSETS[1] - need.per_node_memory
    capacity_cpu = group.max_size * free_cpu - CLUSTER_ADDONS[0]
    capacity_mem = group.max_size * free_mem - CLUSTER_ADDONS[1]
    assert need.cpu <= PACKING * capacity_cpu, (
        f"{env}: {need.cpu}m requested at the HPA maxima, the node group offers "
        f"{capacity_cpu}m at {group.max_size} nodes ({PACKING:.0%} usable)")
    assert need.memory <= PACKING * capacity_mem, (env, need.memory, capacity_mem)
    assert need.largest_pod_cpu <= free_cpu, env
    assert group.max_size > group.min_size, f"{env}: the autoscaler has no room to add nodes"


def test_the_capacity_model_knows_every_instance_type_and_prometheus_size() -> None:
    for env in ENVIRONMENTS:
        assert set(node_group(env).instance_types) <= set(INSTANCE_TYPES), env
    text = (ADDONS / "kube_prometheus_stack.tf").read_text()
    assert re.search(r'requests = \{ cpu = "500m", memory = "2Gi" \}', text)
    assert re.search(r"replicas\s+= 2\n", text)
    autoscaler = (ADDONS / "cluster_autoscaler.tf").read_text()
    assert 'requests = { cpu = "100m", memory = "300Mi" }' in autoscaler
    # a dev cluster of the issue's size (6 x m6i.large) is too small, as measured there
    small = NodeGroup(["m6i.large"], 3, 6)
    cpu, _ = small.allocatable()
    assert 6 * (cpu - SYSTEM_DAEMONSETS[0]) - CLUSTER_ADDONS[0] < 12_100


def test_the_database_connection_budget_holds_at_the_hpa_maxima(
    objects: list[dict[str, Any]],
) -> None:
    replicas = sum(h["spec"]["maxReplicas"] for h in by_kind(objects, "HorizontalPodAutoscaler"))
    config = next(c for c in by_kind(objects, "ConfigMap")
                  if c["metadata"]["name"].startswith("tradeplat-config"))
    assert config["data"]["TRADEPLAT_DB_POOL_MAX"] == str(POOL_MAX)
    assert f"max_connections={MAX_CONNECTIONS}" in str(find(objects, "StatefulSet", "postgres"))
    assert replicas * POOL_MAX <= MAX_CONNECTIONS - 10  # migrate, backup, exporter, psql


def test_every_platform_service_keeps_a_disruption_budget(objects: list[dict[str, Any]]
                                                         ) -> None:
    for svc in PLATFORM:
        pdb = find(objects, "PodDisruptionBudget", svc)
        hpa = find(objects, "HorizontalPodAutoscaler", svc)
        assert pdb is not None and hpa is not None, svc
        budget = pdb["spec"]["maxUnavailable"]
        down = math.floor(hpa["spec"]["minReplicas"] * int(budget[:-1]) / 100) \
            if isinstance(budget, str) else budget
        assert 1 <= down < hpa["spec"]["minReplicas"], (svc, budget)


def test_logs_are_shipped_in_every_eks_overlay(renders: dict[str, list[dict[str, Any]]]) -> None:
    for name in ("eks", *ENVIRONMENTS):
        objects = renders[f"overlay:{name}"]
        shipper = find(objects, "DaemonSet", "fluent-bit")
        assert shipper is not None, name
        env_cm = next(c for c in by_kind(objects, "ConfigMap")
                      if c["metadata"]["name"].startswith("fluent-bit-env"))
        # Loki as terraform installs it (modules/addons/loki.tf: namespace logging, gateway)
        assert env_cm["data"]["LOKI_HOST"] == "loki-gateway.logging.svc.cluster.local"
    for env in ENVIRONMENTS:
        stack = blocks(load(TF_ENVS / env / "main.tf"), "module")["stack"]
        assert stack["enable_loki"] is True, env


def _backup_pod(objects: list[dict[str, Any]]) -> dict[str, Any]:
    cronjob = find(objects, "CronJob", "postgres-backup")
    assert cronjob is not None
    return cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]


def test_backups_are_copied_to_the_environments_s3_bucket(
    env: str, objects: list[dict[str, Any]],
) -> None:
    pod = _backup_pod(objects)
    assert [c["name"] for c in pod["initContainers"]] == ["pg-dump"]
    assert [c["name"] for c in pod["containers"]] == ["s3-copy"]
    copy = pod["containers"][0]
    script = copy["args"][0]
    assert "aws s3 sync /backups" in script and "head-object" in script
    assert ":?" in script, "an empty bucket name must fail the Job, not skip the copy"
    assert copy["envFrom"] == [{"configMapRef": {"name": "postgres-backup-s3"}}]
    assert not any(e["name"].startswith("AWS_ACCESS") for e in copy.get("env", []))
    config = find(objects, "ConfigMap", "postgres-backup-s3")
    stack = blocks(load(TF_ENVS / env / "main.tf"), "module")["stack"]
    # terraform names the bucket after the account alias (modules/stack/main.tf)
    assert config["data"]["BACKUP_S3_BUCKET"] == \
        f"{stack['expected_account_alias']}-postgres-backups"
    assert '"${var.expected_account_alias}-postgres-backups"' in \
        (REPO / "terraform/modules/stack/main.tf").read_text()
    # the pod's identity is the one terraform gives the role (Pod Identity association)
    variables = blocks(load(REPO / "terraform/modules/backups/variables.tf"), "variable")
    assert pod["serviceAccountName"] == variables["service_account"]["default"]
    assert variables["namespace"]["default"] == NAMESPACE
    # it may leave the namespace for S3 (443) and the Pod Identity agent, nothing else
    policy = find(objects, "NetworkPolicy", "allow-postgres-backup-to-s3")
    assert policy is not None
    ports = sorted(p["port"] for rule in policy["spec"]["egress"] for p in rule["ports"])
    assert ports == [80, 443]


def test_the_eks_base_alone_names_no_bucket(renders: dict[str, list[dict[str, Any]]]) -> None:
    config = find(renders["overlay:eks"], "ConfigMap", "postgres-backup-s3")
    assert config["data"]["BACKUP_S3_BUCKET"] == ""


def test_the_restore_from_s3_reads_the_environments_bucket() -> None:
    job = yaml.safe_load((REPO / "k8s/ops/postgres-restore-s3-job.yaml").read_text())
    pod = job["spec"]["template"]["spec"]
    fetch = pod["initContainers"][0]
    assert "aws s3 cp" in fetch["args"][0] and "${BACKUP_S3_BUCKET}" in fetch["args"][0]
    assert {"configMapRef": {"name": "postgres-backup-s3"}} in fetch["envFrom"]
    restore = pod["containers"][0]
    assert "--single-transaction" in restore["args"][0]
    assert "--exit-on-error" in restore["args"][0]
    assert pod["serviceAccountName"] == "postgres-backup"
    mounts = {m["mountPath"] for m in restore["volumeMounts"]}
    assert "/restore" in mounts


def test_the_load_generators_workers_count_in_the_capacity(
    renders: dict[str, list[dict[str, Any]]],
) -> None:
    """A run's Locust workers (as many as the worker template's annotation says, or its
    replicas) are part of the demand the node group and the quota must hold."""
    for env in ENVIRONMENTS:
        objects = renders[f"overlay:{env}"]
        worker = find(objects, "Deployment", "locust-worker")
        assert worker is not None, env
        declared = (worker["metadata"].get("annotations") or {}).get(WORKERS_ANNOTATION)
        count = max(worker["spec"].get("replicas", 1), int(declared or 0))
        assert count >= 1, env
        without = [o for o in objects if o is not worker]
        cpu, _ = pod_requests(pod_template(worker)["spec"])
        assert demand_at_maxima(objects).cpu - demand_at_maxima(without).cpu == count * cpu
