"""Processes of the local target: start them, recognise them, stop them.

A PID alone is not an identity: after a crash the number can be reused by an
unrelated process. Every process the target starts is recorded with its
creation time and a marker that its command line must contain; nothing is
ever signalled unless both still match (``ProcessRecord.alive``).
"""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

# set by the supervisor in its own environment, so every process of a target
# (replicas, proxies, Prometheus, PostgreSQL) carries it
TARGET_ID_ENV = "TRADESTORM_TARGET_ID"

# psutil derives create_time from clock ticks since boot (1/100 s)
_CREATE_TIME_TOLERANCE_S = 0.05


@dataclass(frozen=True)
class ProcessRecord:
    """Identity of one process: PID, creation time, and a command-line marker."""

    pid: int
    create_time: float
    marker: str

    @classmethod
    def of(cls, pid: int, marker: str) -> ProcessRecord | None:
        """Record a running process now; None when it is already gone."""
        try:
            proc = psutil.Process(pid)
            return cls(pid=pid, create_time=proc.create_time(), marker=marker)
        except psutil.Error:
            return None

    @classmethod
    def from_state(cls, entry: Mapping[str, Any] | None) -> ProcessRecord | None:
        """The record stored in a ``state.json`` entry (``pid``, ``create_time``, ``marker``)."""
        if not entry or not entry.get("pid"):
            return None
        try:
            return cls(
                pid=int(entry["pid"]),
                create_time=float(entry.get("create_time") or 0.0),
                marker=str(entry.get("marker") or ""),
            )
        except (TypeError, ValueError):
            return None

    def to_state(self) -> dict[str, Any]:
        return {"pid": self.pid, "create_time": self.create_time, "marker": self.marker}

    def process(self) -> psutil.Process | None:
        """The live process this record names, or None (gone, zombie, or a recycled PID)."""
        try:
            proc = psutil.Process(self.pid)
            drift = abs(proc.create_time() - self.create_time)
            if self.create_time and drift > _CREATE_TIME_TOLERANCE_S:
                return None
            if proc.status() == psutil.STATUS_ZOMBIE:
                return None
            if self.marker and self.marker not in " ".join(proc.cmdline()):
                return None
            return proc
        except psutil.Error:
            return None

    def alive(self) -> bool:
        return self.process() is not None


def terminate(records: Iterable[ProcessRecord], timeout_s: float = 10.0,
              sig: int = signal.SIGTERM) -> list[ProcessRecord]:
    """Stop every live process of ``records``: ``sig``, then SIGKILL after ``timeout_s``.

    Returns the records that were still alive and got signalled. Only
    processes whose identity is verified are touched.
    """
    procs: list[tuple[ProcessRecord, psutil.Process]] = []
    for record in records:
        proc = record.process()
        if proc is None:
            continue
        try:
            proc.send_signal(sig)
        except psutil.NoSuchProcess:
            continue
        procs.append((record, proc))
    if not procs:
        return []
    _, alive = psutil.wait_procs([p for _, p in procs], timeout=timeout_s)
    for proc in alive:
        try:
            proc.kill()
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(alive, timeout=5)
    return [r for r, _ in procs]


def spawn(
    argv: Sequence[str],
    *,
    log_file: Path,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    new_session: bool = False,
) -> subprocess.Popen[bytes]:
    """Start ``argv`` with stdout and stderr appended to ``log_file``.

    The child inherits the file opened with O_APPEND: each write lands at the
    current end, so when the supervisor truncates the log to rotate it, the next
    line goes to offset 0 (no hole of NUL bytes up to the old offset).
    """
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with open(log_file, "ab", buffering=0) as log:
        return subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=dict(env) if env is not None else None,
            cwd=str(cwd) if cwd else None,
            start_new_session=new_session,
            close_fds=True,
        )


def rotated_log(log_file: Path, generation: int) -> Path:
    """``NAME.log.N``: the log as it was ``generation`` rotations ago (the supervisor
    rotates STATE/logs by copy-truncate: ``.log`` → ``.log.1`` → ``.log.2`` …)."""
    return log_file.with_name(f"{log_file.name}.{generation}")


def read_log_since(log_file: Path, offset: int, rotations: int = 0,
                   limit: int = 65536) -> bytes:
    """The last ``limit`` bytes written to ``log_file`` since it was ``offset`` bytes long.

    ``rotations`` is how many times the file was rotated since then: that output
    begins in ``NAME.log.<rotations>`` at ``offset`` and goes on through the newer
    ones into ``NAME.log``. A file shorter than ``offset`` with no rotation known
    was truncated by someone else: counted as one rotation. When the rotation that
    held ``offset`` has been dropped already, what is left is read from its start.
    """
    try:
        size = log_file.stat().st_size
    except OSError:
        size = 0
    if rotations <= 0 and size < offset:
        rotations = 1
    # (path, where this start's output begins in it), oldest first
    parts: list[tuple[Path, int]] = []
    for generation in range(rotations, 0, -1):
        path = rotated_log(log_file, generation)
        if path.exists():
            parts.append((path, offset if generation == rotations else 0))
    parts.append((log_file, 0 if rotations > 0 else offset))
    chunks: list[bytes] = []
    left = limit
    for path, start in reversed(parts):
        if left <= 0:
            break
        try:
            with open(path, "rb") as fh:
                end = fh.seek(0, os.SEEK_END)
                begin = max(min(start, end), end - left)
                fh.seek(begin)
                data = fh.read(end - begin)
        except OSError:
            continue
        chunks.append(data)
        left -= len(data)
    return b"".join(reversed(chunks))


def log_tail(path: Path, lines: int = 15) -> str:
    """The last lines of a log file, for error messages (reaching back into
    ``NAME.log.1`` when the log was rotated a moment ago)."""
    data = b""
    for candidate in (path, rotated_log(path, 1)):
        try:
            with open(candidate, "rb") as fh:
                size = fh.seek(0, os.SEEK_END)
                fh.seek(max(0, size - 8192))
                data = fh.read() + data
        except OSError:
            continue
        if data.count(b"\n") > lines:
            break
    return "\n".join(data.decode("utf-8", "replace").splitlines()[-lines:])


def processes_of_target(target_id: str) -> list[psutil.Process]:
    """Every live process whose environment carries ``TRADESTORM_TARGET_ID=target_id``."""
    if not target_id:
        return []
    found = []
    me = os.getpid()
    for proc in psutil.process_iter(["pid"]):
        if proc.pid == me:
            continue
        try:
            if (proc.environ().get(TARGET_ID_ENV) == target_id
                    and proc.status() != psutil.STATUS_ZOMBIE):
                found.append(proc)
        except psutil.Error:
            continue
    return found
