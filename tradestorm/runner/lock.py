"""One run at a time per target.

Two runs against the same local target would measure each other's load and
faults, and reconcile would find the other run's orders as phantoms. The run
holds an exclusive ``flock`` on ``STATE/runner.lock`` for as long as it lasts
(released by the kernel even when the process is killed); a second run is
refused with the first one's pid, scenario and start time.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

from tradestorm.errors import TargetError

LOCK_NAME = "runner.lock"


@contextlib.contextmanager
def run_lock(state_dir: Path, scenario: str) -> Iterator[Path]:
    """Hold the target's run lock; ``TargetError`` when another run holds it."""
    state_dir.mkdir(parents=True, exist_ok=True)
    path = state_dir / LOCK_NAME
    handle = path.open("a+", encoding="utf-8")
    try:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            try:
                other = json.loads(handle.read() or "{}")
            except ValueError:
                other = {}
            since = other.get("started_at")
            when = time.strftime("%H:%M:%S UTC", time.gmtime(since)) if since else "?"
            raise TargetError(
                f"another tradestorm run (pid {other.get('pid', '?')}, scenario "
                f"{other.get('scenario', '?')}, since {when}) is running against the target in "
                f"{state_dir}; runs on one target must not overlap (they would measure each "
                "other's load and faults)"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps({"pid": os.getpid(), "scenario": scenario,
                                 "started_at": time.time()}))
        handle.flush()
        yield path
    finally:
        handle.close()  # releases the lock
