"""One copy of k8s/ per test session, shared by tests/k8s and tests/kube.

Nothing is added to the copy: every overlay must render from what git holds (a fresh
clone). Sharing one path lets ``tradestorm.kube.render``'s per-process cache serve
both test folders: each overlay is rendered once per session.
"""

from __future__ import annotations

import atexit
import functools
import shutil
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


@functools.cache
def shared_k8s_tree() -> Path:
    root = Path(tempfile.mkdtemp(prefix="tradestorm-k8s-tests-"))
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    tree = root / "k8s"
    shutil.copytree(REPO / "k8s", tree, ignore=shutil.ignore_patterns("secrets.env"))
    return tree
