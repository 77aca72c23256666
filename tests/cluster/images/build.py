"""Every image the test cluster runs, built when missing from the cache, in dependency order."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from tests.cluster.images.archive import ImageArchive, cache_lock, normalize_ref
from tests.cluster.images.base import PYTHON_REF, ensure_base_image
from tests.cluster.images.packages import (
    POSTGRES,
    POSTGRES_EXPORTER,
    ensure_package_image,
)
from tests.cluster.images.project import LOADGEN, PLATFORM, ensure_project_image
from tests.cluster.images.scratch import pause_image


@dataclass(frozen=True)
class Built:
    """One image of :func:`build_all`: its archive and how long making sure of it took."""

    name: str
    archive: ImageArchive
    seconds: float


#: name -> how to make sure of the image (each builds what it depends on first).
STEPS: tuple[tuple[str, Callable[[Callable[[str], None] | None], ImageArchive]], ...] = (
    ("pause", pause_image),
    ("python-base", ensure_base_image),
    ("platform", lambda log: ensure_project_image(PLATFORM, log)),
    ("loadgen", lambda log: ensure_project_image(LOADGEN, log)),
    ("postgres", lambda log: ensure_package_image(POSTGRES, log)),
    ("postgres-exporter", lambda log: ensure_package_image(POSTGRES_EXPORTER, log)),
)


def build_all(log: Callable[[str], None] | None = None) -> list[Built]:
    """Every image with the time each took (seconds; near zero when cached)."""
    built: list[Built] = []
    with cache_lock():
        for name, step in STEPS:
            started = time.monotonic()
            archive = step(log)
            built.append(Built(name, archive, time.monotonic() - started))
    return built


def ensure_images(log: Callable[[str], None] | None = None) -> list[ImageArchive]:
    """Build whatever is missing (the Python base, platform, loadgen, postgres, postgres-exporter,
    pause) and return the archives of the images the node runs (the Python base only builds
    the others), ready for :func:`import_images`."""
    build_only = normalize_ref(PYTHON_REF)
    return [
        item.archive for item in build_all(log) if normalize_ref(item.archive.ref) != build_only
    ]
