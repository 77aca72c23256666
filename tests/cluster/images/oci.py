"""Writing OCI image archives directly (no registry, no daemon): an ``oci-layout`` tar with an
``index.json`` whose one manifest is annotated with the image's full reference.

``ctr images import`` (containerd 1.6) takes the name from ``io.containerd.image.name`` as is;
``skopeo`` and ``buildah pull oci-archive:`` read ``org.opencontainers.image.ref.name``. Both are
set. Layers are stored uncompressed (``...layer.v1.tar``): the archives never leave this machine.
"""

from __future__ import annotations

import hashlib
import io
import json
import platform
import stat
import tarfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tests.cluster.images.archive import file_sha256

MANIFEST = "application/vnd.oci.image.manifest.v1+json"
INDEX = "application/vnd.oci.image.index.v1+json"
CONFIG = "application/vnd.oci.image.config.v1+json"
LAYER_TAR = "application/vnd.oci.image.layer.v1.tar"
#: The PATH an image without its own gets (Docker's default).
DEFAULT_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
_EPOCH = "1970-01-01T00:00:00Z"


def go_arch() -> str:
    """This machine's architecture as OCI names it."""
    machine = platform.machine().lower()
    return {
        "x86_64": "amd64",
        "aarch64": "arm64",
        "armv7l": "arm",
        "ppc64le": "ppc64le",
        "s390x": "s390x",
    }.get(machine, machine)


def write_scratch_layer(dest: Path, files: Mapping[str, Path], dirs: Mapping[str, int]) -> None:
    """A reproducible layer tar: ``dirs`` (image path -> mode) and their parents, then ``files``
    (image path -> host file; mode 0755 when the host file is executable, else 0644), owned by
    0:0 and dated at the epoch so the same inputs give the same digest."""
    entries: dict[str, int] = {}
    for path in [*dirs, *files]:
        parts = _clean(path).split("/")
        for depth in range(1, len(parts)):
            entries.setdefault("/".join(parts[:depth]), 0o755)
    for path, mode in dirs.items():
        entries[_clean(path)] = mode
    with tarfile.open(dest, "w", format=tarfile.PAX_FORMAT) as tar:
        for name in sorted(entries):
            if name in {_clean(f) for f in files}:
                continue
            info = tarfile.TarInfo(name + "/")
            info.type, info.mode = tarfile.DIRTYPE, entries[name]
            tar.addfile(_owned_by_root(info))
        for image_path, host_path in sorted(files.items(), key=lambda item: _clean(item[0])):
            st = host_path.stat()
            if not stat.S_ISREG(st.st_mode):
                raise ValueError(f"{host_path} is not a regular file")
            info = tarfile.TarInfo(_clean(image_path))
            info.size = st.st_size
            info.mode = 0o755 if st.st_mode & 0o111 else 0o644
            with host_path.open("rb") as handle:
                tar.addfile(_owned_by_root(info), handle)


def image_config(
    layers: list[Path],
    *,
    entrypoint: list[str] | None = None,
    cmd: list[str] | None = None,
    user: str = "",
    env: list[str] | None = None,
    workdir: str = "",
    labels: Mapping[str, str] | None = None,
    stop_signal: str = "",
    exposed_ports: list[str] | None = None,
    history: str = "",
) -> dict[str, Any]:
    """An OCI image config for ``layers`` (uncompressed tars, so diff_id == digest)."""
    config: dict[str, Any] = {"Env": env if env is not None else [DEFAULT_PATH]}
    for key, value in (
        ("Entrypoint", entrypoint),
        ("Cmd", cmd),
        ("User", user),
        ("WorkingDir", workdir),
        ("StopSignal", stop_signal),
    ):
        if value:
            config[key] = value
    if labels:
        config["Labels"] = dict(labels)
    if exposed_ports:
        config["ExposedPorts"] = {port: {} for port in exposed_ports}
    return {
        "created": _EPOCH,
        "architecture": go_arch(),
        "os": "linux",
        "config": config,
        "rootfs": {
            "type": "layers",
            "diff_ids": [f"sha256:{file_sha256(layer)}" for layer in layers],
        },
        "history": [
            {"created": _EPOCH, "created_by": history or "tests.cluster.images"} for _ in layers
        ],
    }


def write_oci_archive(dest: Path, ref: str, layers: list[Path], config: Mapping[str, Any]) -> None:
    """``dest``: an oci-archive of one image named ``ref`` (written beside, then renamed)."""
    config_blob = _json(config)
    layer_descs = [
        {
            "mediaType": LAYER_TAR,
            "digest": f"sha256:{file_sha256(layer)}",
            "size": layer.stat().st_size,
        }
        for layer in layers
    ]
    manifest_blob = _json(
        {
            "schemaVersion": 2,
            "mediaType": MANIFEST,
            "config": {
                "mediaType": CONFIG,
                "digest": _digest(config_blob),
                "size": len(config_blob),
            },
            "layers": layer_descs,
        }
    )
    index_blob = _json(
        {
            "schemaVersion": 2,
            "mediaType": INDEX,
            "manifests": [
                {
                    "mediaType": MANIFEST,
                    "digest": _digest(manifest_blob),
                    "size": len(manifest_blob),
                    "platform": {"architecture": go_arch(), "os": "linux"},
                    "annotations": {
                        "io.containerd.image.name": ref,
                        "org.opencontainers.image.ref.name": ref,
                    },
                }
            ],
        }
    )
    tmp = dest.with_name(dest.name + ".tmp")
    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        with tarfile.open(tmp, "w", format=tarfile.PAX_FORMAT) as tar:
            for directory in ("blobs/", "blobs/sha256/"):
                info = tarfile.TarInfo(directory)
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                tar.addfile(_owned_by_root(info))
            _add_bytes(tar, "oci-layout", _json({"imageLayoutVersion": "1.0.0"}))
            _add_bytes(tar, "index.json", index_blob)
            _add_bytes(tar, _blob_name(_digest(config_blob)), config_blob)
            _add_bytes(tar, _blob_name(_digest(manifest_blob)), manifest_blob)
            seen: set[str] = set()
            for layer, desc in zip(layers, layer_descs, strict=True):
                if desc["digest"] in seen:
                    continue
                seen.add(desc["digest"])
                info = tarfile.TarInfo(_blob_name(desc["digest"]))
                info.size, info.mode = desc["size"], 0o644
                with layer.open("rb") as handle:
                    tar.addfile(_owned_by_root(info), handle)
        tmp.rename(dest)
    finally:
        tmp.unlink(missing_ok=True)


def _clean(path: str) -> str:
    cleaned = "/".join(part for part in path.split("/") if part not in ("", "."))
    if not cleaned or ".." in cleaned.split("/"):
        raise ValueError(f"not a path inside an image: {path!r}")
    return cleaned


def _owned_by_root(info: tarfile.TarInfo) -> tarfile.TarInfo:
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    info.mtime = 0
    return info


def _json(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()


def _digest(blob: bytes) -> str:
    return "sha256:" + hashlib.sha256(blob).hexdigest()


def _blob_name(digest: str) -> str:
    return "blobs/sha256/" + digest.removeprefix("sha256:")


def _add_bytes(tar: tarfile.TarFile, name: str, blob: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode = len(blob), 0o644
    tar.addfile(_owned_by_root(info), io.BytesIO(blob))
