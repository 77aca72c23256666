"""One run at a time per target.

Two runs against the same local target would measure each other's load and
faults, and reconcile would find the other run's orders as phantoms. The run
holds an exclusive ``flock`` on ``STATE/runner.lock`` for as long as it lasts
(released by the kernel even when the process is killed); a second run is
refused with the first one's pid, scenario and start time. The lock file keeps
the last run's results folder: a run whose process was killed leaves its
``run.json`` at ``running``; ``tradestorm status`` reports it and the next run
marks it ``interrupted`` with the time it was found (:func:`mark_abandoned`).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from runfolder.errors import RunFolderError
from runfolder.layout import RUN_JSON
from runfolder.record import read_run
from tradestorm.errors import TargetError

LOCK_NAME = "runner.lock"


def abandoned_run(state_dir: Path) -> dict[str, Any] | None:
    """The run that last held the lock, when its process is gone without finishing it
    (``run.json`` still ``running``): ``{"pid", "scenario", "results_dir"}``, else None."""
    path = state_dir / LOCK_NAME
    try:
        with path.open("r", encoding="utf-8") as handle:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                return None  # a live run holds it
            last = json.loads(handle.read() or "{}")
    except (OSError, ValueError):
        return None
    results = last.get("results_dir")
    if not results:
        return None
    try:
        run = read_run(Path(results))
    except RunFolderError:
        return None
    return last if run.status == "running" else None


def mark_abandoned(state_dir: Path, say: Callable[[str], None]) -> Path | None:
    """Mark the abandoned run's ``run.json`` ``interrupted`` (found now, by this run)."""
    last = abandoned_run(state_dir)
    if last is None:
        return None
    results = Path(last["results_dir"])
    run_json = results / RUN_JSON
    record = read_run(results)
    found = time.time()
    record.status = "interrupted"
    record.verdict = record.verdict or "error"
    if record.interrupted_at is None:
        record.interrupted_at = found
    record.errors.append(
        f"run: its process (pid {last.get('pid')}) ended without finishing the run (killed?); "
        f"found at {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime(found))} by the next run")
    record.write(results)
    say(f"the previous run ({last.get('scenario')}, pid {last.get('pid')}) was killed before "
        f"it finished: {run_json} marked interrupted")
    return run_json


@contextlib.contextmanager
def run_lock(state_dir: Path, scenario: str, results_dir: Path | None = None) -> Iterator[Path]:
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
                                 "started_at": time.time(),
                                 "results_dir": str(results_dir) if results_dir else None}))
        handle.flush()
        yield path
    finally:
        handle.close()  # releases the lock
