"""Render a kustomize overlay offline (``kubectl kustomize``) into plain objects.

Also: where the overlays live, the order objects are applied in, the
optional image-registry rewrite for registries whose address must not be
committed (ECR: the account id is part of the host), and the image overlay that
sets the registry and tag of this repository's images at ``up`` time
(``--image-registry``/``--image-tag``), checked against the image reference grammar
of distribution/reference before anything is rendered.
"""

from __future__ import annotations

import copy
import os
import re
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from tradestorm.kube.errors import OverlayNotFound, RenderError

Obj = dict[str, Any]

#: Images built from this repository (docker/*.Dockerfile); only these are
#: moved to another registry by ``with_registry``.
OWN_IMAGES = ("tradeplat", "tradestorm-loadgen")

#: Apply order, after Helm's install order (pkg/releaseutil/kind_sorter.go):
#: namespaces and policies first, then identities and config, then workloads,
#: then what refers to workloads; kinds not listed (custom resources) last.
INSTALL_ORDER = (
    "Namespace", "NetworkPolicy", "ResourceQuota", "LimitRange", "PodDisruptionBudget",
    "ServiceAccount", "Secret", "ConfigMap", "StorageClass", "PersistentVolume",
    "PersistentVolumeClaim", "CustomResourceDefinition", "ClusterRole", "ClusterRoleBinding",
    "Role", "RoleBinding", "Service", "DaemonSet", "Pod", "ReplicaSet", "Deployment",
    "HorizontalPodAutoscaler", "StatefulSet", "Job", "CronJob", "IngressClass", "Ingress",
)

_RENDER_TIMEOUT_S = 120

# distribution/reference (reference/regexp.go): a registry host with an optional port,
# optional lowercase path components, and a tag.
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[a-fA-F0-9:]+\])(?::[0-9]+)?"
_PATH_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*"
_REGISTRY = re.compile(rf"{_DOMAIN}(?:/{_PATH_COMPONENT})*")
_TAG = re.compile(r"[\w][\w.-]{0,127}")
#: the longest repository name a registry must accept (distribution's NameTotalLengthMax)
_NAME_MAX = 255


def default_manifests_dir() -> Path:
    """``k8s/`` of the checkout this package runs from."""
    return Path(__file__).resolve().parents[2] / "k8s"


def resolve_overlay(overlay: str, manifests_dir: Path | None = None) -> Path:
    """A folder path as given, else ``<manifests_dir>/overlays/<overlay>``."""
    as_path = Path(overlay).expanduser()
    if as_path.is_dir() and (as_path / "kustomization.yaml").is_file():
        return as_path.resolve()
    root = (manifests_dir or default_manifests_dir()) / "overlays"
    candidate = root / overlay
    if "/" not in overlay and (candidate / "kustomization.yaml").is_file():
        return candidate
    known = sorted(p.name for p in root.iterdir() if (p / "kustomization.yaml").is_file()) \
        if root.is_dir() else []
    raise OverlayNotFound(
        f"overlay '{overlay}' is neither a kustomization folder nor one of "
        f"{', '.join(known) or '(none)'} in {root}"
    )


def kubectl_binary() -> str:
    path = shutil.which("kubectl")
    if path is None:
        raise RenderError("kubectl is not installed (it renders the overlay with its built-in "
                          "kustomize; version 1.27 or newer)")
    return path


#: Rendering must not reach any cluster. ``kubectl kustomize`` itself does not,
#: but kubectl wrappers may (gcloud's kubectl dispatcher asks the current
#: context's server for its version to pick a binary), so kubectl runs with a
#: kubeconfig whose only server refuses connections at once.
_OFFLINE_KUBECONFIG = """apiVersion: v1
kind: Config
clusters: [{name: offline, cluster: {server: "http://127.0.0.1:1"}}]
users: [{name: offline, user: {}}]
contexts: [{name: offline, context: {cluster: offline, user: offline}}]
current-context: offline
"""


def _kustomize_root(path: Path) -> Path:
    """The folder holding everything an overlay can reference: the one with ``base/``."""
    for candidate in (path, *list(path.parents)[:3]):
        if (candidate / "base").is_dir():
            return candidate
    return path


def _signature(root: Path) -> tuple[tuple[str, int, int], ...]:
    entries = []
    for file in sorted(root.rglob("*")):
        if file.is_file():
            stat = file.stat()
            entries.append((str(file), stat.st_mtime_ns, stat.st_size))
    return tuple(entries)


_cache: dict[tuple[str, tuple[tuple[str, int, int], ...]], list[Obj]] = {}
_cache_lock = threading.Lock()


def render_overlay(path: Path) -> list[Obj]:
    """``kubectl kustomize PATH`` (no cluster access) parsed into objects.

    Renders are cached per process while no file of the kustomize tree changes
    (name, size, mtime): ``up`` then ``status`` then ``down`` render once.
    """
    path = Path(path).resolve()
    key = (str(path), _signature(_kustomize_root(path)))
    with _cache_lock:
        if key in _cache:
            return copy.deepcopy(_cache[key])
    objects = _render(path)
    with _cache_lock:
        _cache[key] = objects
    return copy.deepcopy(objects)


def _render(path: Path) -> list[Obj]:
    with tempfile.TemporaryDirectory(prefix="tradestorm-render-") as tmp:
        kubeconfig = Path(tmp) / "kubeconfig"
        kubeconfig.write_text(_OFFLINE_KUBECONFIG)
        env = {**os.environ, "KUBECONFIG": str(kubeconfig)}
        try:
            proc = subprocess.run([kubectl_binary(), "kustomize", str(path)],
                                  capture_output=True, text=True, timeout=_RENDER_TIMEOUT_S,
                                  check=False, env=env)
        except subprocess.TimeoutExpired:
            raise RenderError(f"kubectl kustomize {path} took more than {_RENDER_TIMEOUT_S} s"
                              ) from None
    if proc.returncode != 0:
        message = proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else "no output"
        hint = ""
        if "secrets.env" in proc.stderr:
            hint = (f" (create {path / 'secrets.env'} from secrets.env.example; "
                    "see docs/kubernetes.md, 'Secrets')")
        raise RenderError(f"kubectl kustomize {path} failed: {message}{hint}")
    try:
        docs = [d for d in yaml.safe_load_all(proc.stdout) if d]
    except yaml.YAMLError as exc:
        raise RenderError(f"kubectl kustomize {path} printed invalid YAML: {exc}") from None
    for i, doc in enumerate(docs):
        if not isinstance(doc, dict) or not {"apiVersion", "kind", "metadata"} <= set(doc) \
                or "name" not in (doc.get("metadata") or {}):
            raise RenderError(f"{path}: rendered document {i} is not a Kubernetes object")
    if not docs:
        raise RenderError(f"{path}: the overlay renders no object")
    return docs


def install_order(objects: Iterable[Obj]) -> list[Obj]:
    rank = {kind: i for i, kind in enumerate(INSTALL_ORDER)}
    return sorted(objects, key=lambda o: rank.get(o["kind"], len(rank)))


def _image_fields(obj: Obj) -> Iterable[dict[str, Any]]:
    spec = obj.get("spec") or {}
    if obj["kind"] == "CronJob":
        spec = (spec.get("jobTemplate") or {}).get("spec") or {}
    pod = ((spec.get("template") or {}).get("spec")) or {}
    yield from pod.get("initContainers") or []
    yield from pod.get("containers") or []


def check_image_registry(registry: str) -> str:
    """``registry`` without a trailing slash; ValueError unless it is ``host[:port][/path]``."""
    value = registry.strip().rstrip("/")
    if not _REGISTRY.fullmatch(value):
        raise ValueError(f"'{registry}' is not a registry host[:port][/path] (e.g. "
                         "123456789012.dkr.ecr.eu-west-1.amazonaws.com or ghcr.io/org); "
                         "no scheme, lowercase path")
    longest = max(OWN_IMAGES, key=len)
    if len(f"{value}/{longest}") > _NAME_MAX:
        raise ValueError(f"'{registry}' makes image names longer than {_NAME_MAX} characters")
    return value


def check_image_tag(tag: str) -> str:
    """``tag``; ValueError unless it is an image tag: ``[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}``."""
    if not _TAG.fullmatch(tag) or not tag.isascii():
        raise ValueError(f"'{tag}' is not an image tag (letters, digits, '_', '.', '-'; "
                         "at most 128 characters, not starting with '.' or '-')")
    return tag


def image_overlay(overlay: Path, into: Path, *, registry: str | None = None,
                  tag: str | None = None) -> Path:
    """A kustomization in ``into`` that renders ``overlay`` with this repository's images
    moved to ``registry`` and/or tagged ``tag`` (kustomize's ``images`` transformer, as
    ``kustomize edit set image`` writes it). Both are checked first (ValueError)."""
    entries = []
    for name in OWN_IMAGES:
        entry: dict[str, str] = {"name": name}
        if registry is not None:
            entry["newName"] = f"{check_image_registry(registry)}/{name}"
        if tag is not None:
            entry["newTag"] = check_image_tag(tag)
        entries.append(entry)
    into.mkdir(parents=True, exist_ok=True)
    # kustomize refuses absolute resource paths: reference the overlay relative to `into`
    relative = os.path.relpath(Path(overlay).resolve(), into.resolve())
    (into / "kustomization.yaml").write_text(yaml.safe_dump({
        "apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
        "resources": [relative], "images": entries}, sort_keys=False))
    return into


def with_registry(objects: list[Obj], registry: str) -> list[Obj]:
    """Prefix the own images with ``registry``: ``tradeplat:1.2`` -> ``REG/tradeplat:1.2``."""
    registry = registry.rstrip("/")
    if not re.fullmatch(r"[A-Za-z0-9.\-]+(:\d+)?(/[a-z0-9._\-/]+)?", registry):
        raise RenderError(f"image registry '{registry}' is not a registry host[/path]")
    pattern = re.compile(rf"^({'|'.join(map(re.escape, OWN_IMAGES))})([:@].*)?$")
    for obj in objects:
        for container in _image_fields(obj):
            match = pattern.match(container.get("image", ""))
            if match:
                container["image"] = f"{registry}/{container['image']}"
    return objects
