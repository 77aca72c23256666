"""Removing folders that may hold mounts (a debootstrap that failed half-way leaves /proc and
/sys mounted in its target; a test containerd leaves its snapshots mounted): unmount what is
under the folder, deepest first, then delete it, never through a mount."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from tests.cluster.errors import ClusterError


def mounts_under(path: Path) -> list[Path]:
    """Mount points at or below ``path``, deepest first."""
    root = os.path.realpath(path)
    found: list[Path] = []
    with open("/proc/self/mountinfo") as handle:
        for line in handle:
            point = line.split()[4].encode().decode("unicode_escape")
            if point == root or point.startswith(root.rstrip("/") + "/"):
                found.append(Path(point))
    return sorted(set(found), key=lambda p: len(p.parts), reverse=True)


def unmount_under(path: Path) -> None:
    """Unmount everything at or below ``path``; ClusterError if something stays mounted."""
    for _ in range(3):
        points = mounts_under(path)
        if not points:
            return
        for point in points:
            subprocess.run(["umount", str(point)], capture_output=True)
            if point in mounts_under(point):
                subprocess.run(["umount", "--lazy", str(point)], capture_output=True)
    left = mounts_under(path)
    if left:
        raise ClusterError("images", f"could not unmount {', '.join(map(str, left))}")


def remove_tree(path: Path) -> None:
    """``rm -rf path`` after unmounting everything below it."""
    if not path.exists() and not path.is_symlink():
        return
    unmount_under(path)
    shutil.rmtree(path)
