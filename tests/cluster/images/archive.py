"""Image archives in the cache: what they are called, where they live and how their keys are made.

Every image ends as one archive file ``CACHE_DIR/images/<ref slug>-<key>.tar`` whose key is a
hash of everything the image is made from, so the file's existence means "built from exactly
these inputs" and a warm machine builds nothing.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.cluster.paths import CACHE_DIR

IMAGES_DIR = CACHE_DIR / "images"
#: Bump to rebuild every image (a change to how images are assembled, not to what goes in).
LAYOUT_VERSION = "1"


@dataclass(frozen=True)
class ImageArchive:
    """One image saved as an archive that ``ctr images import`` reads with ``ref`` preserved."""

    ref: str  #: normalized reference, e.g. docker.io/library/tradeplat:dev
    path: Path  #: the archive (oci-archive or docker-archive tar)
    key: str  #: content hash of the image's inputs (part of the file name)


def normalize_ref(ref: str) -> str:
    """The reference as containerd's CRI and the kubelet spell it: ``tradeplat:dev`` ->
    ``docker.io/library/tradeplat:dev``; a missing tag becomes ``latest``."""
    name, _, digest = ref.partition("@")
    slash = name.find("/")
    first = name[:slash] if slash >= 0 else ""
    if slash < 0 or not ("." in first or ":" in first or first == "localhost"):
        name = ("docker.io/library/" if slash < 0 else "docker.io/") + name
    last = name.rsplit("/", 1)[-1]
    if ":" not in last and not digest:
        name += ":latest"
    if not re.fullmatch(
        r"[a-z0-9.\-]+(:[0-9]+)?(/[a-z0-9._\-]+)+(:[A-Za-z0-9_][A-Za-z0-9_.\-]{0,127})?", name
    ):
        raise ValueError(f"not an image reference: {ref!r}")
    return name + (f"@{digest}" if digest else "")


def slug(ref: str) -> str:
    """A file-name-safe form of a reference."""
    return re.sub(r"[^A-Za-z0-9_.\-]+", "_", ref.removeprefix("docker.io/library/"))


def archive_path(ref: str, key: str) -> Path:
    return IMAGES_DIR / f"{slug(ref)}-{key}.tar"


def cached(ref: str, key: str) -> ImageArchive | None:
    """The archive of ``ref`` built from inputs with ``key``, if the cache has it."""
    path = archive_path(ref, key)
    return ImageArchive(ref, path, key) if path.is_file() else None


def drop_stale(archive: ImageArchive) -> None:
    """Remove the older archives of the same reference (other keys)."""
    prefix = f"{slug(archive.ref)}-"
    for other in IMAGES_DIR.glob(f"{prefix}*.tar"):
        rest = other.name[len(prefix) : -len(".tar")]
        if other != archive.path and re.fullmatch(r"[0-9a-f]{16}", rest):
            other.unlink(missing_ok=True)


class Hasher:
    """A sha256 over labelled parts; :meth:`key` is the 16-hex-digit cache key."""

    def __init__(self, kind: str) -> None:
        self._digest = hashlib.sha256(f"tradestorm-image/{LAYOUT_VERSION}/{kind}\0".encode())

    def text(self, label: str, value: str) -> Hasher:
        self._digest.update(f"{label}\0{len(value)}\0{value}\0".encode())
        return self

    def file(self, label: str, path: Path) -> Hasher:
        """The file's content and whether it is executable (the mode that images keep)."""
        self._digest.update(
            f"{label}\0{'x' if os.access(path, os.X_OK) else '-'}\0{file_sha256(path)}\0".encode()
        )
        return self

    def key(self) -> str:
        return self._digest.hexdigest()[:16]


_SHA_MEMO: dict[tuple[str, int, int, int], str] = {}


def file_sha256(path: Path) -> str:
    """The file's sha256 (remembered per path, size, inode and mtime within this process)."""
    st = path.stat()
    memo_key = (str(path), st.st_size, st.st_ino, st.st_mtime_ns)
    if memo_key not in _SHA_MEMO:
        digest = hashlib.sha256()
        with path.open("rb") as handle:
            while chunk := handle.read(1 << 20):
                digest.update(chunk)
        _SHA_MEMO[memo_key] = digest.hexdigest()
    return _SHA_MEMO[memo_key]


def tree_files(
    root: Path, relative: Iterable[str], skip_dirs: frozenset[str], skip_suffixes: tuple[str, ...]
) -> Iterator[Path]:
    """Files under ``root/<each of relative>`` in a stable order, skipping the named folders
    (at any depth) and suffixes; symlinks are listed, not followed."""
    for rel in relative:
        top = root / rel
        if top.is_file() or top.is_symlink():
            yield top
            continue
        for dirpath, dirnames, filenames in os.walk(top):
            dirnames[:] = sorted(d for d in dirnames if d not in skip_dirs)
            for name in sorted(filenames):
                if not name.endswith(skip_suffixes) and name not in skip_dirs:
                    yield Path(dirpath) / name


_lock_depth = 0


@contextmanager
def cache_lock() -> Iterator[None]:
    """One image build at a time on this machine (the cache and buildah's storage are shared);
    re-entrant within a process."""
    global _lock_depth
    if _lock_depth:
        _lock_depth += 1
        try:
            yield
        finally:
            _lock_depth -= 1
        return
    IMAGES_DIR.mkdir(parents=True, exist_ok=True)
    with (IMAGES_DIR / ".lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        _lock_depth = 1
        try:
            yield
        finally:
            _lock_depth = 0
            fcntl.flock(handle, fcntl.LOCK_UN)
