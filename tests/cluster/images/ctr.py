"""Importing image archives into a containerd for the kubelet: ``ctr images import`` into the
``k8s.io`` namespace (the one containerd's CRI serves), then a check that every reference is
listed exactly as the kubelet will ask for it (``tradeplat:dev`` ->
``docker.io/library/tradeplat:dev``).

An image already imported from the same archive (label ``tradestorm.cache-key`` equal to the
archive's key) is not imported again.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from tests.cluster.errors import ClusterError
from tests.cluster.images._run import run
from tests.cluster.images.archive import ImageArchive

NAMESPACE = "k8s.io"
KEY_LABEL = "tradestorm.cache-key"
IMPORT_TIMEOUT = 1800.0


def ctr(address: str | Path, *args: str | Path, namespace: str = NAMESPACE) -> list[str]:
    """A ctr command line for the containerd at ``address``."""
    return ["ctr", "--address", str(address), "--namespace", namespace, *map(str, args)]


def listed_images(address: str | Path, namespace: str = NAMESPACE) -> dict[str, dict[str, str]]:
    """Reference -> labels of the images containerd lists in ``namespace``."""
    proc = run(
        ctr(address, "images", "ls", namespace=namespace),
        "images",
        f"listing images at {address}",
        timeout=120,
    )
    images: dict[str, dict[str, str]] = {}
    for line in proc.stdout.splitlines()[1:]:
        words = line.split()
        if not words:
            continue
        labels: dict[str, str] = {}
        if words[-1] != "-":
            for pair in words[-1].split(","):
                name, _, value = pair.partition("=")
                labels[name] = value
        images[words[0]] = labels
    return images


def import_images(
    ctr_address: str,
    archives: list[ImageArchive],
    *,
    snapshotter: str | None = None,
    log: Callable[[str], None] | None = None,
) -> None:
    """Import ``archives`` into the containerd listening on ``ctr_address`` (namespace k8s.io,
    unpacked for ``snapshotter``, containerd's default when None), skipping those already
    imported from the same archive; raise ClusterError naming the image whose reference is
    not listed afterwards."""
    present = listed_images(ctr_address)
    for archive in archives:
        if present.get(archive.ref, {}).get(KEY_LABEL) == archive.key:
            if log:
                log(f"{archive.ref}: already imported ({archive.key})")
            continue
        if not archive.path.is_file():
            raise ClusterError(
                f"image {archive.ref}",
                f"archive {archive.path} is missing (build the images first)",
            )
        started = time.monotonic()
        args: list[str | Path] = ["images", "import"]
        if snapshotter:
            args += ["--snapshotter", snapshotter]
        proc = run(
            ctr(ctr_address, *args, archive.path),
            f"image {archive.ref}",
            f"ctr images import {archive.path.name}",
            timeout=IMPORT_TIMEOUT,
        )
        listed = listed_images(ctr_address)
        if archive.ref not in listed:
            raise ClusterError(
                f"image {archive.ref}",
                f"imported {archive.path} but containerd at {ctr_address} "
                f"lists no {archive.ref} in {NAMESPACE} (it lists "
                f"{sorted(listed)}; ctr said: {proc.stdout.strip()[-500:]})",
            )
        run(
            ctr(ctr_address, "images", "label", archive.ref, f"{KEY_LABEL}={archive.key}"),
            f"image {archive.ref}",
            "labelling the imported image",
        )
        if log:
            log(f"{archive.ref}: imported in {time.monotonic() - started:.1f}s")
    listed = listed_images(ctr_address)
    missing = [archive.ref for archive in archives if archive.ref not in listed]
    if missing:
        raise ClusterError(
            f"image {missing[0]}", f"containerd at {ctr_address} does not list {', '.join(missing)}"
        )
