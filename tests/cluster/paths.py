"""Where the test cluster keeps its builds (a cache, kept across runs) and its running state
(removed by ``down``). Both are read once, here."""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_ROOT = PACKAGE_DIR.parents[1]

#: Builds keyed by their versions: a warm machine rebuilds nothing. Never removed by ``down``.
CACHE_DIR = Path(os.environ.get("TRADESTORM_CLUSTER_CACHE", "/var/cache/tradestorm-cluster"))
#: Everything a running cluster writes (certificates, etcd, containerd, kubelet, logs, pids).
STATE_DIR = Path(os.environ.get("TRADESTORM_CLUSTER_STATE", "/var/lib/tradestorm-cluster"))
#: Sockets and containerd's runtime state (tmpfs-like, also removed by ``down``).
RUN_DIR = Path(os.environ.get("TRADESTORM_CLUSTER_RUN", "/run/tradestorm-cluster"))
