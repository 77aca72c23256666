"""Chaos Mesh's CustomResourceDefinitions, read from its Go module (nothing else of it runs)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.cluster.errors import ClusterError
from tests.cluster.versions import CHAOS_MESH_MODULE


def crd_manifest() -> Path:
    """manifests/crd.yaml of the pinned module version, downloaded into the module cache once."""
    proc = subprocess.run(
        ["go", "mod", "download", "-json", CHAOS_MESH_MODULE], capture_output=True, text=True
    )
    try:
        info = json.loads(proc.stdout)
    except ValueError:
        info = {}
    if proc.returncode != 0 or "Dir" not in info:
        raise ClusterError(
            "chaos-mesh CRDs",
            f"go mod download {CHAOS_MESH_MODULE}: {info.get('Error') or proc.stderr.strip()}",
        )
    path = Path(info["Dir"]) / "manifests" / "crd.yaml"
    if not path.is_file():
        raise ClusterError("chaos-mesh CRDs", f"{path} is not in module {CHAOS_MESH_MODULE}")
    return path
