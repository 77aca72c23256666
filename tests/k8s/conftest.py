"""Render every overlay and component combination once per session (offline).

The k8s/ tree is copied once per session (tests/k8s/tree.py) so the tests can add
throwaway overlays that combine components, without touching the repository; every
real overlay renders from what git holds.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.k8s.tree import shared_k8s_tree
from tradestorm.kube.errors import RenderError
from tradestorm.kube.render import render_overlay

REPO = Path(__file__).resolve().parents[2]
K8S = REPO / "k8s"
COMPONENTS = sorted(p.name for p in (K8S / "components").iterdir() if p.is_dir())

#: name -> (resources, components) of a throwaway overlay; the two real overlays are added.
COMBINATIONS: dict[str, tuple[list[str], list[str]]] = {
    "base": (["../../base"], []),
    **{f"base+{c}": (["../../base"], [f"../../components/{c}"]) for c in COMPONENTS},
    "base+all": (["../../base"], [f"../../components/{c}" for c in COMPONENTS
                                  if c != "without-hpa"]),
    "base+all+without-hpa": (["../../base"], [f"../../components/{c}" for c in COMPONENTS]),
}
OVERLAYS = sorted(p.name for p in (K8S / "overlays").iterdir() if p.is_dir())
#: "ops": the kind overlay plus the hand-applied manifests of k8s/ops (restore Job)
RENDERS = [f"overlay:{o}" for o in OVERLAYS] + sorted(COMBINATIONS) + ["ops"]


def render_dir(path: Path) -> list[dict[str, Any]]:
    """``kubectl kustomize`` offline, as the Kubernetes target renders (a missing kubectl fails)."""
    try:
        return render_overlay(path)
    except RenderError as exc:
        pytest.fail(str(exc))


@pytest.fixture(scope="session")
def k8s_copy() -> Path:
    root = shared_k8s_tree()
    for name, (resources, components) in COMBINATIONS.items():
        d = root / "overlays" / f"_test-{name}"
        d.mkdir(exist_ok=True)
        (d / "kustomization.yaml").write_text(yaml.safe_dump(
            {"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
             "resources": resources, "components": components}))
    return root


@pytest.fixture(scope="session")
def renders(k8s_copy: Path) -> dict[str, list[dict[str, Any]]]:
    def one(name: str) -> list[dict[str, Any]]:
        if name == "ops":
            ops = [d for f in sorted((k8s_copy / "ops").glob("*.yaml"))
                   for d in yaml.safe_load_all(f.read_text()) if d]
            return render_dir(k8s_copy / "overlays" / "kind") + ops
        if name.startswith("overlay:"):
            return render_dir(k8s_copy / "overlays" / name.removeprefix("overlay:"))
        return render_dir(k8s_copy / "overlays" / f"_test-{name}")

    # kubectl runs in subprocesses: render the combinations side by side
    with ThreadPoolExecutor(max_workers=4) as pool:
        return dict(zip(RENDERS, pool.map(one, RENDERS), strict=True))


@pytest.fixture(params=RENDERS)
def rendered(request: pytest.FixtureRequest, renders: dict[str, list[dict[str, Any]]]
             ) -> list[dict[str, Any]]:
    """Each render in turn (parametrised over every overlay and combination)."""
    return renders[request.param]
