"""Registration of a load process's metrics endpoint with the local Prometheus.

The local target's Prometheus reads file_sd targets from
``STATE/prometheus/targets/*.json`` (docs/contracts.md §2); a load process writes
``load-<pid>.json`` while it runs and removes it when it ends. Files left by a
process that died without cleaning up (SIGKILL) are removed by the next load
process that registers.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)


def targets_dir(state_dir: Path) -> Path:
    return Path(state_dir) / "prometheus" / "targets"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def prune_stale(state_dir: Path) -> list[Path]:
    """Remove ``load-<pid>.json`` files of processes that no longer run."""
    removed = []
    for path in targets_dir(state_dir).glob("load-*.json"):
        try:
            pid = int(path.stem.removeprefix("load-"))
        except ValueError:
            continue
        if not _pid_alive(pid):
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed


class TargetRegistration:
    """``STATE/prometheus/targets/load-<pid>.json`` for one load process."""

    def __init__(self, state_dir: Path, address: str, labels: dict[str, str]) -> None:
        self.pid = os.getpid()
        self.path = targets_dir(state_dir) / f"load-{self.pid}.json"
        self.address = address
        self.labels = labels

    def write(self) -> Path:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        prune_stale(self.path.parent.parent.parent)
        doc = [{"targets": [self.address], "labels": {"job": "tradestorm-load", **self.labels}}]
        tmp = self.path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(doc), encoding="utf-8")
        os.replace(tmp, self.path)  # Prometheus never reads a half-written file
        return self.path

    def remove(self) -> None:
        if os.getpid() != self.pid:  # a forked child must not remove its parent's file
            return
        try:
            self.path.unlink(missing_ok=True)
        except OSError:
            log.warning("could not remove %s", self.path)
