"""Persistent volumes for the one node: a default StorageClass ``standard`` and a pool of
``local`` PersistentVolumes in folders of the state directory.

``local`` volumes (unlike ``hostPath``) get the pod's fsGroup, so PostgreSQL running as uid
999 owns its data folder. There is no provisioner: a claim binds one of the pool's volumes
when its pod is scheduled (WaitForFirstConsumer); ``recycle_released`` wipes the volumes whose
claim was deleted and offers them again.
"""

from __future__ import annotations

import shutil

import yaml

from tests.cluster import kubectl
from tests.cluster.layout import NODE_NAME, VOLUMES_DIR

STORAGE_CLASS = "standard"
POOL_SIZE = 12
CAPACITY = "20Gi"
_POOL_LABEL = "tradestorm.test/volume-pool"


def _volume(index: int) -> dict[str, object]:
    name = f"local-pv-{index:02d}"
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolume",
        "metadata": {"name": name, "labels": {_POOL_LABEL: "true"}},
        "spec": {
            "capacity": {"storage": CAPACITY},
            "accessModes": ["ReadWriteOnce"],
            "persistentVolumeReclaimPolicy": "Retain",
            "storageClassName": STORAGE_CLASS,
            "local": {"path": str(VOLUMES_DIR / name)},
            "nodeAffinity": {
                "required": {
                    "nodeSelectorTerms": [
                        {
                            "matchExpressions": [
                                {
                                    "key": "kubernetes.io/hostname",
                                    "operator": "In",
                                    "values": [NODE_NAME],
                                }
                            ]
                        }
                    ]
                }
            },
        },
    }


def manifests() -> str:
    storage_class = {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": {
            "name": STORAGE_CLASS,
            "annotations": {"storageclass.kubernetes.io/is-default-class": "true"},
        },
        "provisioner": "kubernetes.io/no-provisioner",
        "volumeBindingMode": "WaitForFirstConsumer",
        "reclaimPolicy": "Retain",
    }
    return yaml.safe_dump_all(
        [storage_class, *(_volume(i) for i in range(POOL_SIZE))], sort_keys=False
    )


def create_pool() -> None:
    for index in range(POOL_SIZE):
        (VOLUMES_DIR / f"local-pv-{index:02d}").mkdir(parents=True, exist_ok=True)
    kubectl.apply(manifests(), piece="storage")


def recycle_released() -> list[str]:
    """Volumes whose claim is gone: emptied and offered again. Returns their names."""
    recycled = []
    volumes = kubectl.get_json("pv", "-l", f"{_POOL_LABEL}=true", piece="storage")
    for item in volumes.get("items", []):  # type: ignore[union-attr]
        if item["status"].get("phase") != "Released":
            continue
        name = item["metadata"]["name"]
        kubectl.run("delete", "pv", name, "--wait=true", piece="storage")
        folder = VOLUMES_DIR / name
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        recycled.append(name)
    if recycled:
        kubectl.apply(manifests(), piece="storage")
    return recycled
