"""Container images of the test cluster, built on this machine without a registry or a Docker
engine: a debootstrap Debian base, the project's Dockerfiles built with buildah, Debian's
PostgreSQL / exporter packages, our own pause program, and scratch images of
static binaries. Every image is an archive in the cache keyed by a hash of its inputs;
:func:`import_images` loads them into a containerd's ``k8s.io`` namespace.

``python -m tests.cluster.images build | import --address SOCK | verify``
"""

from __future__ import annotations

from tests.cluster.images.archive import ImageArchive, normalize_ref
from tests.cluster.images.base import DEBIAN_REF, PYTHON_REF, ensure_base_image
from tests.cluster.images.build import ensure_images
from tests.cluster.images.ctr import import_images
from tests.cluster.images.packages import POSTGRES_EXPORTER_REF, POSTGRES_REF
from tests.cluster.images.project import LOADGEN, PLATFORM
from tests.cluster.images.scratch import PAUSE_REF, binary_image

PLATFORM_REF = PLATFORM.ref
LOADGEN_REF = LOADGEN.ref

__all__ = [
    "DEBIAN_REF",
    "LOADGEN_REF",
    "PAUSE_REF",
    "PLATFORM_REF",
    "POSTGRES_EXPORTER_REF",
    "POSTGRES_REF",
    "PYTHON_REF",
    "ImageArchive",
    "binary_image",
    "ensure_base_image",
    "ensure_images",
    "import_images",
    "normalize_ref",
]
