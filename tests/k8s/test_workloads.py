"""Policy checks on every workload of every render: probes, requests and
limits, non-root, hardened security contexts, pinned images, service accounts."""

from __future__ import annotations

from typing import Any

from tests.k8s.manifests import (
    LONG_RUNNING_KINDS,
    all_containers,
    by_kind,
    container_ports,
    find,
    ref,
    workloads,
)

#: The one workload allowed to run as uid 0, and why (k8s/components/logging):
#: node log files are root-owned 0640. It must still drop every capability.
ROOT_ALLOWED = {"DaemonSet/tradestorm-logging/fluent-bit"}


def _effective(pod_spec: dict[str, Any], container: dict[str, Any], key: str) -> Any:
    csc = container.get("securityContext") or {}
    if key in csc:
        return csc[key]
    return (pod_spec.get("securityContext") or {}).get(key)


def test_long_running_containers_have_all_three_probes(rendered: list[dict[str, Any]]) -> None:
    missing = []
    for obj, spec in workloads(rendered, LONG_RUNNING_KINDS):
        for c in spec["containers"]:
            for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
                if probe not in c:
                    missing.append(f"{ref(obj)} {c['name']}: {probe}")
    assert missing == []


def test_probe_ports_exist_on_the_container(rendered: list[dict[str, Any]]) -> None:
    bad = []
    for obj, spec in workloads(rendered, LONG_RUNNING_KINDS):
        for c in spec["containers"]:
            ports = container_ports({"containers": [c]})
            for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
                http = (c.get(probe) or {}).get("httpGet")
                if http and http["port"] not in ports:
                    bad.append(f"{ref(obj)} {c['name']} {probe}: port {http['port']!r}")
    assert bad == []


def test_platform_probes_use_the_platform_health_endpoints(renders: dict[str, Any]) -> None:
    for svc in ("gateway", "orders", "risk", "portfolio", "marketdata", "analytics"):
        dep = find(renders["base"], "Deployment", svc)
        assert dep is not None
        c = dep["spec"]["template"]["spec"]["containers"][0]
        assert c["livenessProbe"]["httpGet"]["path"] == "/healthz"
        assert c["startupProbe"]["httpGet"]["path"] == "/healthz"
        assert c["readinessProbe"]["httpGet"]["path"] == "/readyz"
        assert c["args"][:1] == [svc] and "0.0.0.0" in c["args"] and "8000" in c["args"]


def test_every_container_has_cpu_and_memory_requests_and_limits(
    rendered: list[dict[str, Any]],
) -> None:
    missing = []
    for obj, spec in workloads(rendered):
        for c in all_containers(spec):
            res = c.get("resources") or {}
            for part in ("requests", "limits"):
                for r in ("cpu", "memory"):
                    if r not in (res.get(part) or {}):
                        missing.append(f"{ref(obj)} {c['name']}: {part}.{r}")
    assert missing == []


def test_every_container_runs_non_root(rendered: list[dict[str, Any]]) -> None:
    bad = []
    for obj, spec in workloads(rendered):
        if ref(obj) in ROOT_ALLOWED:
            continue
        for c in all_containers(spec):
            if _effective(spec, c, "runAsNonRoot") is not True:
                bad.append(f"{ref(obj)} {c['name']}: runAsNonRoot is not true")
            if _effective(spec, c, "runAsUser") in (None, 0):
                bad.append(f"{ref(obj)} {c['name']}: no non-zero runAsUser")
    assert bad == []


def test_the_root_exception_is_still_confined(renders: dict[str, Any]) -> None:
    ds = find(renders["base+logging"], "DaemonSet", "fluent-bit")
    assert ds is not None and ref(ds) in ROOT_ALLOWED
    spec = ds["spec"]["template"]["spec"]
    mounts = {m["name"]: m for m in spec["containers"][0]["volumeMounts"]}
    assert mounts["varlog"].get("readOnly") is True
    assert ds["metadata"]["namespace"] != "tradestorm"  # "restricted" stays enforced there


def test_every_container_is_hardened(rendered: list[dict[str, Any]]) -> None:
    bad = []
    for obj, spec in workloads(rendered):
        if (spec.get("securityContext") or {}).get("seccompProfile", {}).get("type") \
                != "RuntimeDefault":
            bad.append(f"{ref(obj)}: pod seccompProfile is not RuntimeDefault")
        for c in all_containers(spec):
            sc = c.get("securityContext") or {}
            if sc.get("allowPrivilegeEscalation") is not False:
                bad.append(f"{ref(obj)} {c['name']}: allowPrivilegeEscalation")
            if sc.get("readOnlyRootFilesystem") is not True:
                bad.append(f"{ref(obj)} {c['name']}: readOnlyRootFilesystem")
            if sc.get("privileged"):
                bad.append(f"{ref(obj)} {c['name']}: privileged")
            caps = sc.get("capabilities") or {}
            if caps.get("drop") != ["ALL"] or caps.get("add"):
                bad.append(f"{ref(obj)} {c['name']}: capabilities must drop ALL, add none")
        if spec.get("hostNetwork") or spec.get("hostPID") or spec.get("hostIPC"):
            bad.append(f"{ref(obj)}: host namespaces")
    assert bad == []


def test_the_platform_namespace_enforces_restricted_pod_security(rendered: list[Any]) -> None:
    ns = find(rendered, "Namespace", "tradestorm")
    assert ns is not None
    assert ns["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"


def test_every_image_is_pinned(rendered: list[dict[str, Any]]) -> None:
    bad = []
    for obj, spec in workloads(rendered):
        for c in all_containers(spec):
            image = c["image"]
            name, _, digest = image.partition("@")
            tag = name.rsplit(":", 1)[1] if ":" in name.rsplit("/", 1)[-1] else ""
            if not digest and (not tag or tag == "latest"):
                bad.append(f"{ref(obj)} {c['name']}: {image}")
    assert bad == []


def test_pods_use_their_own_service_account(rendered: list[dict[str, Any]]) -> None:
    accounts = {(o["metadata"].get("namespace"), o["metadata"]["name"]): o
                for o in by_kind(rendered, "ServiceAccount")}
    bound = {(s.get("namespace") or o["metadata"].get("namespace"), s["name"])
             for o in rendered if o["kind"] in ("RoleBinding", "ClusterRoleBinding")
             for s in o.get("subjects", []) if s["kind"] == "ServiceAccount"}
    bad = []
    for obj, spec in workloads(rendered):
        ns = obj["metadata"].get("namespace")
        sa = spec.get("serviceAccountName")
        if not sa or sa == "default":
            bad.append(f"{ref(obj)}: runs as the default service account")
            continue
        if (ns, sa) not in accounts:
            bad.append(f"{ref(obj)}: service account {sa} is not defined")
            continue
        # a token only where the account has API rights
        mounts_token = spec.get("automountServiceAccountToken",
                                accounts[(ns, sa)].get("automountServiceAccountToken", True))
        if mounts_token and (ns, sa) not in bound:
            bad.append(f"{ref(obj)}: mounts a token for {sa}, which has no role")
    for key, sa in accounts.items():
        if sa.get("automountServiceAccountToken", True) and key not in bound:
            bad.append(f"ServiceAccount {key}: automounts a token but has no role")
    assert bad == []


def test_the_migration_and_backup_jobs_are_safe_to_rerun(renders: dict[str, Any]) -> None:
    base = renders["base"]
    job = find(base, "Job", "migrate")
    assert job is not None
    assert job["spec"]["template"]["spec"]["containers"][0]["args"] == ["migrate"]
    assert job["spec"]["backoffLimit"] >= 3 and "activeDeadlineSeconds" in job["spec"]
    cron = find(base, "CronJob", "postgres-backup")
    assert cron is not None
    assert cron["spec"]["concurrencyPolicy"] == "Forbid"
    pod = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    script = pod["containers"][0]["args"][0]
    assert "pg_dump --format=custom" in script
    # the final name appears only after pg_dump AND a readable table of contents
    assert script.index("pg_restore --list") < script.index('mv "${partial}" "${final}"')
    assert script.index('mv "${partial}"') < script.index("-delete")
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes["backups"]["persistentVolumeClaim"]["claimName"] == "postgres-backups"
    assert find(base, "PersistentVolumeClaim", "postgres-backups") is not None


def test_postgres_keeps_its_data_on_a_volume(renders: dict[str, Any]) -> None:
    for name in ("overlay:kind", "overlay:eks"):
        sts = find(renders[name], "StatefulSet", "postgres")
        assert sts is not None
        claims = {c["metadata"]["name"] for c in sts["spec"]["volumeClaimTemplates"]}
        mounts = {m["name"]: m["mountPath"] for m in
                  sts["spec"]["template"]["spec"]["containers"][0]["volumeMounts"]}
        assert "data" in claims and mounts["data"] == "/var/lib/postgresql/data"
        assert sts["spec"]["persistentVolumeClaimRetentionPolicy"]["whenDeleted"] == "Retain"
    eks = find(renders["overlay:eks"], "StatefulSet", "postgres")
    assert eks["spec"]["volumeClaimTemplates"][0]["spec"]["storageClassName"] == "gp3"
