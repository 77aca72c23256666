"""Which runs' load lives in a namespace: a Lease per run, renewed while the run lives.

A run's load (its Jobs and its Lease ``tradestorm-load-<run>``) carries the
label ``tradestorm.io/run``. The run renews the Lease every ``RENEW_S``; one
not renewed for ``LEASE_S`` belongs to a CLI that was killed: the next run
removes that load (:func:`remove_leftovers`), and refuses to start beside a
load whose Lease is fresh (:func:`active_runs`). ``tradestorm down`` removes
every run's load (``all_runs=True``).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

from tradestorm.kube.client import KubeConnection, Obj
from tradestorm.kube.loadjobs import RUN_LABEL, run_labels

#: the run renews its Lease this often; a Lease older than LEASE_S belongs to a dead run
RENEW_S = 10.0
LEASE_S = 45


def micro_time(t: float) -> str:
    """``t`` as the API's MicroTime."""
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def lease(name: str, namespace: str, label: str, holder: str) -> Obj:
    """The run's Lease, renewed now."""
    return {
        "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
        "metadata": {"name": name, "namespace": namespace, "labels": run_labels(label)},
        "spec": {"holderIdentity": holder, "leaseDurationSeconds": LEASE_S,
                 "renewTime": micro_time(time.time())},
    }


def _fresh(obj: Obj | None, now: float) -> bool:
    spec = (obj or {}).get("spec") or {}
    renewed = spec.get("renewTime")
    if not renewed:
        return False
    at = datetime.strptime(str(renewed).replace("Z", "+0000").replace("+00:00", "+0000"),
                           "%Y-%m-%dT%H:%M:%S.%f%z").timestamp()
    return now - at < float(spec.get("leaseDurationSeconds") or LEASE_S)


def _runs(conn: KubeConnection, namespace: str) -> dict[str, list[Obj]]:
    """The objects of every run's load in ``namespace``, by run label."""
    runs: dict[str, list[Obj]] = {}
    for api, kind in (("batch/v1", "Job"), ("coordination.k8s.io/v1", "Lease")):
        for obj in conn.list(api, kind, namespace, label_selector=RUN_LABEL):
            label = (obj["metadata"].get("labels") or {}).get(RUN_LABEL, "")
            runs.setdefault(label, []).append({"apiVersion": api, "kind": kind, **obj})
    return runs


def active_runs(conn: KubeConnection, namespace: str) -> list[str]:
    """The runs whose load lives in ``namespace`` (their Lease renewed within its term)."""
    now = time.time()
    return sorted(label for label, objs in _runs(conn, namespace).items()
                  if any(o["kind"] == "Lease" and _fresh(o, now) for o in objs))


def remove_leftovers(conn: KubeConnection, namespace: str, *, all_runs: bool = False
                     ) -> list[str]:
    """Delete the load of every run whose Lease expired (a CLI killed mid-run), or of every
    run with ``all_runs`` (``tradestorm down``); returns what was deleted."""
    now = time.time()
    removed = []
    for objs in _runs(conn, namespace).values():
        if not all_runs and any(o["kind"] == "Lease" and _fresh(o, now) for o in objs):
            continue
        for obj in objs:
            ref = {"apiVersion": obj["apiVersion"], "kind": obj["kind"], "metadata": {
                "name": obj["metadata"]["name"], "namespace": namespace}}
            if conn.delete(ref):
                removed.append(f"{obj['kind']} {obj['metadata']['name']}")
    return removed
