"""Fast checks of the image helpers that need no buildah, containerd or network."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

import pytest

from tests.cluster.images.archive import Hasher, normalize_ref, tree_files
from tests.cluster.images.base import _sources
from tests.cluster.images.oci import image_config, write_oci_archive, write_scratch_layer
from tests.cluster.images.project import LOADGEN, PLATFORM, copied_sources
from tests.cluster.paths import REPO_ROOT


@pytest.mark.parametrize(
    ("ref", "normalized"),
    [
        ("tradeplat:dev", "docker.io/library/tradeplat:dev"),
        ("tradeplat", "docker.io/library/tradeplat:latest"),
        ("library/x:1", "docker.io/library/x:1"),
        ("tradestorm.local/pause:3.10", "tradestorm.local/pause:3.10"),
        ("localhost:5000/x", "localhost:5000/x:latest"),
        ("registry.k8s.io/coredns/coredns:v1.12.0", "registry.k8s.io/coredns/coredns:v1.12.0"),
    ],
)
def test_normalize_ref_spells_references_like_the_cri(ref: str, normalized: str) -> None:
    assert normalize_ref(ref) == normalized


def test_normalize_ref_refuses_garbage() -> None:
    with pytest.raises(ValueError):
        normalize_ref("Bad:Ref:x")


def test_scratch_layer_is_reproducible_and_keeps_the_executable_bit(tmp_path: Path) -> None:
    binary = tmp_path / "prog"
    binary.write_bytes(b"\x7fELF fake")
    binary.chmod(0o755)
    data = tmp_path / "data.txt"
    data.write_text("x")
    first, second = tmp_path / "a.tar", tmp_path / "b.tar"
    files = {"/usr/bin/prog": binary, "etc/data.txt": data}
    write_scratch_layer(first, files, {"/tmp": 0o1777})
    write_scratch_layer(second, dict(reversed(files.items())), {"/tmp": 0o1777})
    assert first.read_bytes() == second.read_bytes()
    with tarfile.open(first) as tar:
        members = {m.name: m for m in tar.getmembers()}
    assert members["usr/bin/prog"].mode == 0o755 and members["etc/data.txt"].mode == 0o644
    assert members["tmp"].mode == 0o1777 and members["usr/bin"].isdir()
    assert all(m.uid == 0 and m.mtime == 0 for m in members.values())


def test_oci_archive_names_the_image_for_containerd_and_skopeo(tmp_path: Path) -> None:
    binary = tmp_path / "prog"
    binary.write_bytes(b"x")
    layer = tmp_path / "layer.tar"
    write_scratch_layer(layer, {"/prog": binary}, {})
    archive = tmp_path / "image.tar"
    config = image_config([layer], entrypoint=["/prog"], user="65534:65534")
    write_oci_archive(archive, "tradestorm.local/x:1", [layer], config)
    with tarfile.open(archive) as tar:
        index = json.load(tar.extractfile("index.json"))
        annotations = index["manifests"][0]["annotations"]
        manifest = json.load(tar.extractfile("blobs/sha256/" + index["manifests"][0]["digest"][7:]))
        stored = json.load(tar.extractfile("blobs/sha256/" + manifest["config"]["digest"][7:]))
    assert annotations["io.containerd.image.name"] == "tradestorm.local/x:1"
    assert annotations["org.opencontainers.image.ref.name"] == "tradestorm.local/x:1"
    assert stored["config"]["Entrypoint"] == ["/prog"] and stored["config"]["User"] == "65534:65534"
    assert stored["rootfs"]["diff_ids"] == [desc["digest"] for desc in manifest["layers"]]


def test_dockerfiles_copy_what_the_cache_key_hashes() -> None:
    """Both images copy the project files and the folder of every package the wheel ships
    (a package left out would be missing from the image's install: runfolder once was)."""
    import tomllib

    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
    packages = project["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"]
    expected = sorted({"README.md", "pyproject.toml", "uv.lock",
                       *(p.split("/")[0] for p in packages)})
    assert {"inputs", "promclient", "runfolder", "slo", "tradestorm"} <= set(expected)
    assert copied_sources(PLATFORM.dockerfile) == expected
    assert copied_sources(LOADGEN.dockerfile) == expected


def test_tree_files_skips_caches(tmp_path: Path) -> None:
    (tmp_path / "pkg" / "__pycache__").mkdir(parents=True)
    (tmp_path / "pkg" / "__pycache__" / "m.cpython-311.pyc").write_bytes(b"")
    (tmp_path / "pkg" / "m.py").write_text("")
    (tmp_path / "pkg" / "x.pyc").write_bytes(b"")
    found = list(tree_files(tmp_path, ["pkg"], frozenset({"__pycache__"}), (".pyc",)))
    assert found == [tmp_path / "pkg" / "m.py"]


def test_hasher_keys_depend_on_labels_and_content() -> None:
    assert Hasher("k").text("a", "1").key() != Hasher("k").text("a", "2").key()
    assert Hasher("k").text("a", "1").key() != Hasher("k").text("b", "1").key()
    assert len(Hasher("k").key()) == 16


def test_apt_sources_in_both_formats() -> None:
    one_line = "deb [signed-by=/k.gpg] http://mirror.example/debian bookworm main\n"
    deb822 = (
        "Types: deb\nURIs: http://deb.debian.org/debian-security\nSuites: bookworm-security\n"
        "Components: main\n"
    )
    assert _sources(one_line) == [("http://mirror.example/debian", ["bookworm"])]
    assert _sources(deb822) == [("http://deb.debian.org/debian-security", ["bookworm-security"])]
