"""Read the platform's state from the cluster into ``ComponentStatus`` lines."""

from __future__ import annotations

from typing import Any

from tradestorm.kube.client import KubeConnection
from tradestorm.kube.rollout import deployment_ready, job_ready, statefulset_ready
from tradestorm.targets import ComponentStatus

PART_OF = "app.kubernetes.io/part-of=tradestorm"

#: app.kubernetes.io/component of a pod template -> ComponentStatus.kind
COMPONENT_KINDS = {
    "gateway": "service",
    "api": "service",
    "database": "database",
    "load-generator": "load-generator",
    "migration": "job",
}


def _kind(obj: dict[str, Any], default: str) -> str:
    labels = obj["metadata"].get("labels") or {}
    return COMPONENT_KINDS.get(labels.get("app.kubernetes.io/component", ""), default)


def _hpa_detail(hpa: dict[str, Any]) -> str:
    spec, status = hpa.get("spec") or {}, hpa.get("status") or {}
    # the API omits a zero currentReplicas: in a status the controller wrote, absent means 0
    current = status.get("currentReplicas", 0 if "desiredReplicas" in status else "?")
    parts = [f"hpa {spec.get('minReplicas', 1)}..{spec.get('maxReplicas')}",
             f"current {current}",
             f"desired {status.get('desiredReplicas', '?')}"]
    for metric in status.get("currentMetrics") or []:
        resource = metric.get("resource") or {}
        utilisation = (resource.get("current") or {}).get("averageUtilization")
        if utilisation is not None:
            parts.append(f"{resource.get('name')} {utilisation}%")
    for cond in status.get("conditions") or []:
        # AbleToScale/ScalingActive False: the HPA is blind (no metrics-server, no requests)
        if cond.get("type") in ("AbleToScale", "ScalingActive") and cond.get("status") == "False":
            parts.append(f"NOT SCALING ({cond.get('reason', cond['type'])})")
    return ", ".join(parts)


def read_components(conn: KubeConnection, namespace: str) -> list[ComponentStatus]:
    hpas = {h["spec"]["scaleTargetRef"]["name"]: h for h in
            conn.list("autoscaling/v2", "HorizontalPodAutoscaler", namespace, PART_OF)}
    components: list[ComponentStatus] = []
    for dep in conn.list("apps/v1", "Deployment", namespace, PART_OF):
        name = dep["metadata"]["name"]
        done, detail = deployment_ready(dep)
        status = dep.get("status") or {}
        desired = (dep.get("spec") or {}).get("replicas", 1)
        if name in hpas:
            detail = f"{detail}; {_hpa_detail(hpas[name])}"
        kind = _kind(dep, "service")
        template = kind == "load-generator" and desired == 0
        if template:  # k8s/components/locust: each run makes its own Jobs from it
            detail = "pod template of the runs' load (0 replicas)"
        components.append(ComponentStatus(
            name=name, kind=kind, healthy=done and (desired > 0 or template),
            address=f"{name}.{namespace}.svc", replicas_ready=status.get("readyReplicas") or 0,
            replicas_desired=desired, detail=detail))
    for sts in conn.list("apps/v1", "StatefulSet", namespace, PART_OF):
        name = sts["metadata"]["name"]
        done, detail = statefulset_ready(sts)
        desired = (sts.get("spec") or {}).get("replicas", 1)
        components.append(ComponentStatus(
            name=name, kind=_kind(sts, "database"), healthy=done and desired > 0,
            address=f"{name}.{namespace}.svc",
            replicas_ready=(sts.get("status") or {}).get("readyReplicas") or 0,
            replicas_desired=desired, detail=detail))
    for job in conn.list("batch/v1", "Job", namespace, PART_OF):
        done, detail = job_ready(job)
        components.append(ComponentStatus(
            name=f"job/{job['metadata']['name']}", kind=_kind(job, "job"), healthy=done,
            detail=detail))
    return sorted(components, key=lambda c: (c.kind != "database", c.kind, c.name))
