"""When is a workload rolled out? The rules of ``kubectl rollout status``.

Each function takes the object as the API server returns it and answers
``(done, detail)``; ``failure`` says whether it can no longer succeed.
"""

from __future__ import annotations

from typing import Any

Obj = dict[str, Any]

WAITED_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "Job")


def _observed(obj: Obj) -> bool:
    status = obj.get("status") or {}
    return (status.get("observedGeneration") or 0) >= (obj["metadata"].get("generation") or 0)


def _condition(obj: Obj, kind: str) -> dict[str, Any] | None:
    for cond in (obj.get("status") or {}).get("conditions") or []:
        if cond.get("type") == kind:
            return cond
    return None


def deployment_ready(obj: Obj) -> tuple[bool, str]:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    desired = spec.get("replicas", 1)
    updated = status.get("updatedReplicas") or 0
    available = status.get("availableReplicas") or 0
    total = status.get("replicas") or 0
    detail = f"{available}/{desired} available, {updated} updated"
    if not _observed(obj):
        return False, "waiting for the controller to observe the new spec"
    if updated < desired:
        return False, detail
    if total > updated:
        return False, f"{detail}, {total - updated} old replicas terminating"
    return available >= desired, detail


def statefulset_ready(obj: Obj) -> tuple[bool, str]:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    desired = spec.get("replicas", 1)
    ready = status.get("readyReplicas") or 0
    detail = f"{ready}/{desired} ready"
    if not _observed(obj):
        return False, "waiting for the controller to observe the new spec"
    current, update = status.get("currentRevision"), status.get("updateRevision")
    if current and update and current != update:
        return False, f"{detail}, rolling to revision {update}"
    return ready >= desired, detail


def daemonset_ready(obj: Obj) -> tuple[bool, str]:
    status = obj.get("status") or {}
    desired = status.get("desiredNumberScheduled") or 0
    updated = status.get("updatedNumberScheduled") or 0
    available = status.get("numberAvailable") or 0
    detail = f"{available}/{desired} nodes available"
    if not _observed(obj):
        return False, "waiting for the controller to observe the new spec"
    return updated >= desired and available >= desired, detail


def job_ready(obj: Obj) -> tuple[bool, str]:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    complete = _condition(obj, "Complete")
    if complete and complete.get("status") == "True":
        return True, "complete"
    succeeded = status.get("succeeded") or 0
    completions = spec.get("completions") or 1
    if succeeded >= completions:
        return True, "complete"
    return False, f"{succeeded}/{completions} succeeded, {status.get('active') or 0} running, " \
                  f"{status.get('failed') or 0} failed attempts"


def failure(obj: Obj) -> str | None:
    """Why the rollout of ``obj`` can no longer succeed, else None."""
    if obj["kind"] == "Job":
        failed = _condition(obj, "Failed")
        if failed and failed.get("status") == "True":
            return f"{failed.get('reason', 'Failed')}: {failed.get('message', '')}".strip(": ")
    if obj["kind"] == "Deployment":
        progressing = _condition(obj, "Progressing")
        if progressing and progressing.get("reason") == "ProgressDeadlineExceeded":
            return f"ProgressDeadlineExceeded: {progressing.get('message', '')}".strip(": ")
    return None


def ready(obj: Obj) -> tuple[bool, str]:
    return {
        "Deployment": deployment_ready,
        "StatefulSet": statefulset_ready,
        "DaemonSet": daemonset_ready,
        "Job": job_ready,
    }[obj["kind"]](obj)
