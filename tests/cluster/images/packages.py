"""Images of Debian packages, each built FROM the debootstrap base with its own folder under
``containerfiles/`` (a Containerfile and whatever it COPYs): PostgreSQL 15 and the Prometheus
PostgreSQL exporter. Keyed by the base's key and every file of the folder. (Debian's
Prometheus is built without Kubernetes service discovery: the cluster's Prometheus is built
from its Go module, tests/cluster/addons.)"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tests.cluster.images.archive import Hasher, ImageArchive, cache_lock, cached, tree_files
from tests.cluster.images.base import (
    CONTAINERFILES,
    DEBIAN_REF,
    debian_key,
    ensure_built,
    ensure_debian_base,
)

POSTGRES_REF = "tradestorm.local/postgres:15-bookworm"
POSTGRES_EXPORTER_REF = "tradestorm.local/postgres-exporter:bookworm"


@dataclass(frozen=True)
class PackageImage:
    """An image made of Debian packages: ``containerfiles/<folder>/Containerfile``."""

    ref: str
    folder: str

    @property
    def context(self) -> Path:
        return CONTAINERFILES / self.folder

    def key(self) -> str:
        """Hash of the debootstrap base's key and every file of the image's folder."""
        hasher = Hasher("debian-packages").text("from", debian_key())
        for path in tree_files(self.context, ["."], frozenset({"__pycache__"}), (".pyc",)):
            hasher.file(str(path.relative_to(self.context)), path)
        return hasher.key()


POSTGRES = PackageImage(POSTGRES_REF, "postgres")
POSTGRES_EXPORTER = PackageImage(POSTGRES_EXPORTER_REF, "postgres-exporter")
PACKAGE_IMAGES = (POSTGRES, POSTGRES_EXPORTER)


def ensure_package_image(
    image: PackageImage, log: Callable[[str], None] | None = None
) -> ImageArchive:
    """The archive of ``image`` (built FROM the debootstrap base if the cache lacks it)."""
    with cache_lock():
        key = image.key()
        if cached(image.ref, key) is None:
            ensure_debian_base(log)
        return ensure_built(
            image.ref,
            image.context / "Containerfile",
            image.context,
            key=key,
            build_args={"BASE_IMAGE": DEBIAN_REF},
            log=log,
        )
