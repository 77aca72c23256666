"""The Debian bases every other image builds FROM.

* ``tradestorm.local/debian:bookworm``: ``debootstrap --variant=minbase`` from the mirror this
  machine's apt uses, trimmed like Docker's debian image (no docs, apt lists or caches,
  services never started by postinst scripts, no recommends). The debootstrap result is kept as
  an oci-archive keyed by suite, package list and the trimming, so a warm machine never runs
  debootstrap again.
* ``tradestorm.local/python:3.11-bookworm``: that base plus Debian's Python 3.11 shaped like the
  official ``python`` image as far as the project's Dockerfiles need it: ``python`` is Python
  3.11 (python-is-python3), ``python -m pip install`` works (python3-pip, PEP 668's
  EXTERNALLY-MANAGED marker removed), ``python3-venv``, ``groupadd``/``useradd``, CA certs.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from collections.abc import Callable
from pathlib import Path

from tests.cluster.errors import ClusterError
from tests.cluster.images import buildah
from tests.cluster.images._run import run
from tests.cluster.images.archive import (
    IMAGES_DIR,
    Hasher,
    ImageArchive,
    archive_path,
    cache_lock,
    cached,
    drop_stale,
)
from tests.cluster.images.oci import DEFAULT_PATH, image_config, write_oci_archive
from tests.cluster.images.rootfs import remove_tree
from tests.cluster.versions import DEBIAN_SUITE

DEBIAN_REF = f"tradestorm.local/debian:{DEBIAN_SUITE}"
PYTHON_REF = f"tradestorm.local/python:3.11-{DEBIAN_SUITE}"
CONTAINERFILES = Path(__file__).resolve().parent / "containerfiles"
#: Added to minbase (which has bash, coreutils, passwd's useradd/groupadd and util-linux's setpriv).
DEBOOTSTRAP_INCLUDE = ("ca-certificates",)
DEFAULT_MIRROR = "http://deb.debian.org/debian"
DEFAULT_SECURITY_MIRROR = "http://deb.debian.org/debian-security"

#: Files written into the debootstrap result (path -> (mode, content)); part of the cache key.
TRIM_FILES: dict[str, tuple[int, str]] = {
    # Like Docker's debian image: services are never started by package scripts.
    "usr/sbin/policy-rc.d": (
        0o755,
        "#!/bin/sh\n# containers start no services while packages install\nexit 101\n",
    ),
    "etc/apt/apt.conf.d/90tradestorm": (
        0o644,
        (
            'APT::Install-Recommends "false";\n'
            'APT::Install-Suggests "false";\n'
            'Acquire::Languages "none";\n'
            'Acquire::GzipIndexes "true";\n'
            'DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb '
            '/var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };\n'
            'APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb '
            '/var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };\n'
            'Dir::Cache::pkgcache "";\n'
            'Dir::Cache::srcpkgcache "";\n'
        ),
    ),
    "etc/dpkg/dpkg.cfg.d/90tradestorm-nodoc": (
        0o644,
        (
            "path-exclude /usr/share/doc/*\n"
            "path-include /usr/share/doc/*/copyright\n"
            "path-exclude /usr/share/man/*\n"
            "path-exclude /usr/share/info/*\n"
            "path-exclude /usr/share/lintian/*\n"
        ),
    ),
}
#: Removed from the debootstrap result: the host's identity, device nodes, caches, docs (and
#: the files of var/log, keeping its folders).
TRIM_GLOBS = (
    "etc/hostname",
    "etc/resolv.conf",
    "etc/hosts",
    "dev/*",
    "run/*",
    "tmp/*",
    "var/tmp/*",
    "var/cache/apt/*.bin",
    "var/cache/apt/archives/*.deb",
    "var/lib/apt/lists/*",
    "var/cache/debconf/*-old",
    "var/lib/dpkg/*-old",
    "usr/share/man/*",
    "usr/share/info/*",
    "usr/share/lintian/*",
)


def apt_mirrors(suite: str = DEBIAN_SUITE) -> tuple[str, str]:
    """(main mirror, security mirror) as this machine's apt configuration names them for
    ``suite`` (one-line and deb822 formats), Debian's CDN when it names none."""
    texts: list[str] = []
    for path in [Path("/etc/apt/sources.list"), *sorted(Path("/etc/apt/sources.list.d").glob("*"))]:
        if path.suffix in ("", ".list", ".sources") and path.is_file():
            texts.append(path.read_text(errors="replace"))
    main = security = ""
    for text in texts:
        for uri, suites in _sources(text):
            if f"{suite}-security" in suites and not security:
                security = uri
            elif suite in suites and not main and uri.rstrip("/").endswith("/debian"):
                main = uri
    return (main or DEFAULT_MIRROR).rstrip("/"), (security or DEFAULT_SECURITY_MIRROR).rstrip("/")


def _sources(text: str) -> list[tuple[str, list[str]]]:
    found: list[tuple[str, list[str]]] = []
    for line in text.splitlines():  # one-line format: deb [opts] URI SUITE COMPONENTS...
        match = re.match(r"\s*deb\s+(\[[^\]]*\]\s+)?(\S+)\s+(\S+)", line)
        if match:
            found.append((match.group(2), [match.group(3)]))
    for stanza in re.split(r"\n\s*\n", text):  # deb822: Types/URIs/Suites fields
        fields = {
            m.group(1).lower(): m.group(2).split()
            for m in re.finditer(r"^([A-Za-z-]+):[ \t]*(.*)$", stanza, re.MULTILINE)
        }
        if "deb" in fields.get("types", []) and fields.get("uris"):
            found.extend((uri, fields.get("suites", [])) for uri in fields["uris"])
    return found


def debian_key() -> str:
    """The cache key of the debootstrap base: suite, package list and trimming."""
    hasher = Hasher("debootstrap").text("suite", DEBIAN_SUITE).text("variant", "minbase")
    hasher.text("include", ",".join(sorted(DEBOOTSTRAP_INCLUDE))).text(
        "trim", repr((TRIM_FILES, TRIM_GLOBS))
    )
    return hasher.key()


def ensure_debian_base(log: Callable[[str], None] | None = None) -> ImageArchive:
    """The debootstrap base's archive (made if missing), also present in buildah's storage."""
    key = debian_key()
    with cache_lock():
        archive = cached(DEBIAN_REF, key) or _debootstrap(key, log)
        if buildah.image_key(DEBIAN_REF) != key:
            if log:
                log(f"loading {DEBIAN_REF} into buildah's storage from {archive.path}")
            buildah.load(archive)
        return archive


def python_key() -> str:
    """The cache key of the Python base: the debootstrap base's key and its Containerfile."""
    hasher = Hasher("python-base").text("from", debian_key())
    return hasher.file("containerfile", CONTAINERFILES / "python" / "Containerfile").key()


def ensure_base_image(log: Callable[[str], None] | None = None) -> ImageArchive:
    """``tradestorm.local/python:3.11-bookworm`` (the ``PYTHON_IMAGE`` of docker/*.Dockerfile):
    built if missing, present in buildah's storage and archived in the cache."""
    with cache_lock():
        key = python_key()
        if cached(PYTHON_REF, key) is None:
            ensure_debian_base(log)
        return ensure_built(
            PYTHON_REF,
            CONTAINERFILES / "python" / "Containerfile",
            CONTAINERFILES / "python",
            key=key,
            build_args={"BASE_IMAGE": DEBIAN_REF},
            keep_loaded=True,
            log=log,
        )


def ensure_built(
    ref: str,
    containerfile: Path,
    context: Path,
    *,
    key: str,
    build_args: dict[str, str],
    host_ca: bool = False,
    keep_loaded: bool = False,
    log: Callable[[str], None] | None = None,
) -> ImageArchive:
    """The archive of ``ref`` built from ``containerfile`` with inputs hashed as ``key``, from the
    cache when it has it, else built (its FROM image must be in buildah's storage) and saved.

    ``keep_loaded``: a base image, kept in (or put back into) buildah's storage for the builds
    FROM it; other images leave the storage once archived (vfs keeps every layer in full).
    ``host_ca``: RUN steps trust this machine's CAs (for builds that reach PyPI over TLS)."""
    with cache_lock():
        archive = cached(ref, key)
        if archive is not None:
            if keep_loaded and buildah.image_key(ref) != key:
                if log:
                    log(f"loading {ref} into buildah's storage from {archive.path}")
                buildah.load(archive)
            return archive
        if buildah.image_key(ref) != key:
            buildah.build(
                ref,
                containerfile,
                context,
                key=key,
                build_args=build_args,
                host_ca=host_ca,
                log=log,
            )
        archive = ImageArchive(ref, archive_path(ref, key), key)
        buildah.save(ref, archive.path)
        drop_stale(archive)
        if not keep_loaded:
            buildah.remove(ref)
        buildah.prune()
        return archive


def _debootstrap(key: str, log: Callable[[str], None] | None) -> ImageArchive:
    mirror, security = apt_mirrors()
    work = IMAGES_DIR / f".work-debootstrap-{key}"
    rootfs = work / "rootfs"
    remove_tree(work)
    rootfs.mkdir(parents=True)
    started = time.monotonic()
    if log:
        log(f"debootstrap --variant=minbase {DEBIAN_SUITE} from {mirror} (key {key})")
    try:
        run(
            [
                "debootstrap",
                "--variant=minbase",
                f"--include={','.join(DEBOOTSTRAP_INCLUDE)}",
                "--components=main",
                DEBIAN_SUITE,
                rootfs,
                mirror,
            ],
            "image base",
            "debootstrap",
            timeout=3600,
        )
        _trim(rootfs, mirror, security)
        layer = work / "layer.tar"
        run(
            [
                "tar",
                "--numeric-owner",
                "--sort=name",
                "--xattrs",
                "--xattrs-include=security.capability",
                "-C",
                rootfs,
                "-cf",
                layer,
                ".",
            ],
            "image base",
            "archiving the debootstrap result",
        )
        config = image_config(
            [layer],
            cmd=["bash"],
            env=[DEFAULT_PATH, "LANG=C.UTF-8"],
            labels={buildah.KEY_LABEL: key},
            history=f"debootstrap --variant=minbase --include={','.join(DEBOOTSTRAP_INCLUDE)} "
            f"{DEBIAN_SUITE} {mirror}",
        )
        archive = ImageArchive(DEBIAN_REF, archive_path(DEBIAN_REF, key), key)
        write_oci_archive(archive.path, DEBIAN_REF, [layer], config)
    finally:
        remove_tree(work)
    drop_stale(archive)
    if log:
        log(f"debootstrapped {DEBIAN_REF} in {time.monotonic() - started:.0f}s")
    return archive


def _trim(rootfs: Path, mirror: str, security: str) -> None:
    """Make the debootstrap result an image base (see TRIM_FILES and TRIM_GLOBS)."""
    for pattern in TRIM_GLOBS:
        for path in rootfs.glob(pattern):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()
    for path in (rootfs / "var/log").rglob("*"):
        if path.is_file():
            path.unlink()
    docs = rootfs / "usr/share/doc"
    for path in sorted(docs.rglob("*"), reverse=True) if docs.is_dir() else ():
        if path.is_dir() and not path.is_symlink():
            if not any(path.iterdir()):
                path.rmdir()
        elif path.name != "copyright":
            path.unlink()
    files = dict(TRIM_FILES)
    files["etc/apt/sources.list"] = (
        0o644,
        (
            f"deb {mirror} {DEBIAN_SUITE} main\n"
            f"deb {mirror} {DEBIAN_SUITE}-updates main\n"
            f"deb {security} {DEBIAN_SUITE}-security main\n"
        ),
    )
    for rel, (mode, content) in files.items():
        path = rootfs / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
        os.chmod(path, mode)
    for rel in ("tmp", "var/tmp"):
        os.chmod(rootfs / rel, 0o1777)
    (rootfs / "var/lib/apt/lists/partial").mkdir(parents=True, exist_ok=True)
    if not (rootfs / "usr/bin/bash").exists() or not (rootfs / "usr/sbin/useradd").exists():
        raise ClusterError("image base", f"debootstrap result in {rootfs} lacks bash or useradd")
