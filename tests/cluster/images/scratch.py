"""Images from scratch: static binaries (and any other files) in one layer, no distribution.

Used for the pod sandbox (pause) image and, by the cluster's add-on helper, for CoreDNS,
metrics-server, kube-state-metrics and the Prometheus Operator. The images need no
``/etc/passwd``: the user is numeric. Only ``/tmp`` exists besides the files (mode 1777).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

from tests.cluster.errors import ClusterError
from tests.cluster.gobuild import GoBuild
from tests.cluster.images.archive import (
    IMAGES_DIR,
    Hasher,
    ImageArchive,
    archive_path,
    cache_lock,
    cached,
    drop_stale,
    normalize_ref,
)
from tests.cluster.images.oci import (
    DEFAULT_PATH,
    image_config,
    write_oci_archive,
    write_scratch_layer,
)

PAUSE_REF = "tradestorm.local/pause:3.10"
#: The pause program (gomod/pause, standard library only).
PAUSE_BUILD = GoBuild(module="pause", programs={"pause": "tradestorm.test/cluster/pause"})
#: Kubernetes' own pause image runs as 65535 (a user no other container uses).
PAUSE_USER = "65535:65535"


def binary_image(
    ref: str, files: dict[str, Path], entrypoint: list[str], user: str = "65534:65534"
) -> ImageArchive:
    """An image holding only ``files`` (image path -> host file) and an empty ``/tmp``, started as
    ``entrypoint`` by ``user`` (numeric, no passwd file needed), saved as an oci-archive.

    Cached by a hash of the reference, entrypoint, user and every file's content and executable
    bit: the same inputs return the archive already in the cache without writing anything.
    """
    ref = normalize_ref(ref)
    if not entrypoint:
        raise ClusterError(f"image {ref}", "binary_image needs an entrypoint")
    for image_path, host_path in files.items():
        if not host_path.is_file():
            raise ClusterError(
                f"image {ref}", f"{host_path} (for {image_path} in the image) is not a file"
            )
    hasher = (
        Hasher("scratch")
        .text("ref", ref)
        .text("entrypoint", json.dumps(entrypoint))
        .text("user", user)
    )
    for image_path in sorted(files):
        hasher.file(image_path, files[image_path])
    key = hasher.key()
    if hit := cached(ref, key):
        return hit
    with cache_lock():
        if hit := cached(ref, key):
            return hit
        work = IMAGES_DIR / f".work-{key}"
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        try:
            layer = work / "layer.tar"
            try:
                write_scratch_layer(layer, files, {"/tmp": 0o1777})
            except (OSError, ValueError) as exc:
                raise ClusterError(f"image {ref}", f"writing the layer failed: {exc}") from exc
            config = image_config(
                [layer],
                entrypoint=entrypoint,
                user=user,
                env=[DEFAULT_PATH],
                workdir="/",
                history=f"tests.cluster.images.binary_image {key}",
            )
            archive = ImageArchive(ref, archive_path(ref, key), key)
            write_oci_archive(archive.path, ref, [layer], config)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        drop_stale(archive)
        return archive


def pause_image(log: Callable[[str], None] | None = None) -> ImageArchive:
    """The pod sandbox image: our own ``pause`` (sleeps, reaps orphans as PID 1, exits 0 on
    SIGINT/SIGTERM), built with Go from gomod/pause."""
    binaries = PAUSE_BUILD.build(log=log)
    return binary_image(PAUSE_REF, {"/pause": binaries["pause"]}, ["/pause"], user=PAUSE_USER)
