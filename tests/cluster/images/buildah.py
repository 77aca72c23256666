"""buildah with the test cluster's own storage: vfs driver (no overlay or fuse needed), root in
the cache (kept across runs, so base images stay), runroot under RUN_DIR, chroot isolation.

Each image built here carries the label ``tradestorm.cache-key``: the image in storage is the
one the cache key names only if the label says so.
"""

from __future__ import annotations

import subprocess
import tarfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path

from tests.cluster.errors import ClusterError
from tests.cluster.images._run import run
from tests.cluster.images.archive import IMAGES_DIR, ImageArchive, slug
from tests.cluster.paths import CACHE_DIR, RUN_DIR

STORAGE_ROOT = CACHE_DIR / "containers" / "storage"
RUNROOT = RUN_DIR / "buildah"
LOG_DIR = IMAGES_DIR / "logs"
KEY_LABEL = "tradestorm.cache-key"
#: This machine's CA bundle: with ``host_ca`` RUN steps see it instead of the image's own (a
#: TLS-inspecting egress proxy in front of PyPI signs with a CA only the machine trusts); the
#: images keep Debian's bundle. Not for builds that (re)configure ca-certificates: its postinst
#: replaces that file, which a bind mount makes impossible.
HOST_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
#: A cold build of the project images resolves ~120 wheels from PyPI on a busy machine.
BUILD_TIMEOUT = 3600.0


def buildah(*args: str | Path) -> list[str]:
    """A buildah command line on the test cluster's storage."""
    return [
        "buildah",
        "--root",
        str(STORAGE_ROOT),
        "--runroot",
        str(RUNROOT),
        "--storage-driver",
        "vfs",
        *map(str, args),
    ]


def image_key(ref: str) -> str | None:
    """The cache key of the image named ``ref`` in buildah's storage (None: not there)."""
    proc = subprocess.run(
        buildah(
            "inspect",
            "--type",
            "image",
            "--format",
            '{{index .OCIv1.Config.Labels "' + KEY_LABEL + '"}}',
            ref,
        ),
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        return None
    return proc.stdout.strip() or None


def build(
    ref: str,
    containerfile: Path,
    context: Path,
    *,
    key: str,
    build_args: Mapping[str, str],
    host_ca: bool = False,
    log: Callable[[str], None] | None = None,
) -> None:
    """``buildah build`` of ``containerfile`` as ``ref`` (Docker format, so HEALTHCHECK, SHELL and
    STOPSIGNAL are kept), using only images already in storage. The whole build output goes to
    ``CACHE_DIR/images/logs/<ref>.log``; a failure raises with its tail."""
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    RUNROOT.mkdir(parents=True, exist_ok=True)
    log_file = LOG_DIR / f"{slug(ref)}.log"
    args: list[str | Path] = [
        "build",
        "--isolation",
        "chroot",
        "--format",
        "docker",
        "--pull=never",
        "--layers=false",
        "--label",
        f"{KEY_LABEL}={key}",
        "-f",
        containerfile,
        "-t",
        ref,
    ]
    for name, value in sorted(build_args.items()):
        args += ["--build-arg", f"{name}={value}"]
    if host_ca and HOST_CA_BUNDLE.is_file():
        args += ["--volume", f"{HOST_CA_BUNDLE}:{HOST_CA_BUNDLE}:ro"]
    cmd = buildah(*args, context)
    if log:
        log(f"building {ref} from {containerfile.name} (key {key}; log {log_file})")
    started = time.monotonic()
    with log_file.open("w") as out:
        out.write("$ " + " ".join(cmd) + "\n")
        out.flush()
        try:
            proc = subprocess.run(
                cmd, stdout=out, stderr=subprocess.STDOUT, cwd=context, timeout=BUILD_TIMEOUT
            )
        except subprocess.TimeoutExpired as exc:
            raise ClusterError(
                f"image {ref}",
                f"buildah build did not finish in {BUILD_TIMEOUT:.0f}s (log {log_file})",
            ) from exc
    if proc.returncode != 0:
        text = log_file.read_text(errors="replace")
        raise ClusterError(
            f"image {ref}",
            f"buildah build of {containerfile} failed (exit {proc.returncode}, "
            f"log {log_file}):\n{text[-4000:]}",
        )
    if image_key(ref) != key:
        raise ClusterError(
            f"image {ref}", f"buildah build succeeded but storage has no {ref} labelled {key}"
        )
    if log:
        log(f"built {ref} in {time.monotonic() - started:.0f}s")


def save(ref: str, dest: Path) -> None:
    """``dest``: a docker-archive of ``ref`` (which ``ctr images import`` reads with the tag kept
    and which keeps Docker-only config such as HEALTHCHECK)."""
    tmp = dest.with_name(dest.name + ".tmp")
    tmp.unlink(missing_ok=True)
    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        run(
            buildah("push", "--quiet", ref, f"docker-archive:{tmp}:{ref}"),
            f"image {ref}",
            "saving the image as a docker-archive",
            timeout=1800,
        )
        tmp.rename(dest)
    finally:
        tmp.unlink(missing_ok=True)


def load(archive: ImageArchive) -> None:
    """Put an archived image back into buildah's storage under its reference (after the storage
    was removed, so that the images built FROM it find it)."""
    transport = "oci-archive" if _is_oci_archive(archive.path) else "docker-archive"
    RUNROOT.mkdir(parents=True, exist_ok=True)
    proc = run(
        buildah("pull", "--quiet", f"{transport}:{archive.path}"),
        f"image {archive.ref}",
        "loading the archive into buildah's storage",
        timeout=1800,
    )
    image_id = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else ""
    if not image_id:
        raise ClusterError(
            f"image {archive.ref}", f"buildah pull of {archive.path} printed no image id"
        )
    run(buildah("tag", image_id, archive.ref), f"image {archive.ref}", "naming the loaded image")
    if image_key(archive.ref) != archive.key:
        raise ClusterError(
            f"image {archive.ref}", f"{archive.path} holds no image labelled {archive.key}"
        )


def remove(ref: str) -> None:
    """Remove ``ref`` from buildah's storage (its archive is what the cluster uses)."""
    subprocess.run(buildah("rmi", ref), capture_output=True, text=True)


def prune() -> None:
    """Remove images that lost their name to a newer build (vfs stores every layer in full)."""
    subprocess.run(buildah("rmi", "--prune"), capture_output=True, text=True)


def _is_oci_archive(path: Path) -> bool:
    with tarfile.open(path) as tar:
        for member in tar:
            if member.name.lstrip("./") == "oci-layout":
                return True
            if member.name.lstrip("./") == "manifest.json":
                return False
    return False
