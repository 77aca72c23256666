"""The project's own images, built from docker/platform.Dockerfile and docker/loadgen.Dockerfile
exactly as a Docker build would, changed only through their build arguments (the base image,
uv's version).

Cache key: the Dockerfile, the build arguments (the base image's key among them), the
.dockerignore and every file the Dockerfile COPYs from the build context, walked the way the
context is sent (``__pycache__``, ``*.pyc``, ``.env`` files and tool caches left out). An unchanged
checkout is not rebuilt.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tests.cluster.errors import ClusterError
from tests.cluster.images.archive import Hasher, ImageArchive, cache_lock, cached, tree_files
from tests.cluster.images.base import PYTHON_REF, ensure_base_image, ensure_built, python_key
from tests.cluster.paths import REPO_ROOT

DOCKER_DIR = REPO_ROOT / "docker"
#: uv as the Dockerfiles pin it by default (ARG UV_VERSION); passed explicitly so it is keyed.
UV_VERSION = "0.8.22"
#: Never part of the build context (mirrors .dockerignore's exclusions, plus tool caches).
SKIP_DIRS = frozenset(
    {
        "__pycache__",
        ".pytest_cache",
        ".venv",
        ".mypy_cache",
        ".ruff_cache",
        ".tradestorm",
        "results",
        "node_modules",
        ".git",
        ".env",
    }
)
SKIP_SUFFIXES = (".pyc", ".env")


@dataclass(frozen=True)
class ProjectImage:
    """One of the project's Dockerfiles and the reference the cluster runs it as."""

    ref: str
    dockerfile: Path

    def build_args(self) -> dict[str, str]:
        return {"PYTHON_IMAGE": PYTHON_REF, "UV_VERSION": UV_VERSION}

    def key(self) -> str:
        """Hash of the Dockerfile, the base's key, the build arguments, .dockerignore and the
        build-context files the Dockerfile COPYs."""
        hasher = Hasher("dockerfile").file("Dockerfile", self.dockerfile).text("base", python_key())
        hasher.text("args", repr(sorted(self.build_args().items())))
        ignore = REPO_ROOT / ".dockerignore"
        hasher.text(".dockerignore", ignore.read_text() if ignore.is_file() else "")
        for path in tree_files(
            REPO_ROOT, copied_sources(self.dockerfile), SKIP_DIRS, SKIP_SUFFIXES
        ):
            hasher.text("path", str(path.relative_to(REPO_ROOT)))
            if path.is_symlink():
                hasher.text("symlink", str(path.readlink()))
            else:
                hasher.file("file", path)
        return hasher.key()


PLATFORM = ProjectImage("docker.io/library/tradeplat:dev", DOCKER_DIR / "platform.Dockerfile")
LOADGEN = ProjectImage(
    "docker.io/library/tradestorm-loadgen:dev", DOCKER_DIR / "loadgen.Dockerfile"
)


def copied_sources(dockerfile: Path) -> list[str]:
    """The build-context paths the Dockerfile's COPY/ADD instructions read (``--from=`` copies
    read another stage, not the context)."""
    text = re.sub(r"\\\n", " ", dockerfile.read_text())
    sources: list[str] = []
    for line in text.splitlines():
        words = (
            shlex.split(line, comments=False)
            if re.match(r"\s*(COPY|ADD)\s", line, re.IGNORECASE)
            else []
        )
        if not words:
            continue
        args = [w for w in words[1:] if not w.startswith("--")]
        if any(w.startswith("--from") for w in words[1:]) or len(args) < 2:
            continue
        for source in args[:-1]:
            if any(ch in source for ch in "*?[$"):
                raise ClusterError(
                    f"image {dockerfile.name}", f"COPY source {source!r} is not a plain path"
                )
            sources.append(source.strip("/") or ".")
    missing = [s for s in sources if not (REPO_ROOT / s).exists()]
    if missing:
        raise ClusterError(
            f"image {dockerfile.name}", f"COPY sources missing from {REPO_ROOT}: {missing}"
        )
    return sorted(set(sources))


def ensure_project_image(
    image: ProjectImage, log: Callable[[str], None] | None = None
) -> ImageArchive:
    """The image built from ``image.dockerfile`` on the Python base (which is built first when
    this image must be built and the base is missing)."""
    with cache_lock():
        key = image.key()
        if cached(image.ref, key) is None:
            ensure_base_image(log)
        return ensure_built(
            image.ref,
            image.dockerfile,
            REPO_ROOT,
            key=key,
            build_args=image.build_args(),
            host_ca=True,
            log=log,
        )
