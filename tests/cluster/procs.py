"""The cluster's long-running processes: started detached with a log and a pid file each,
stopped by pid file, and found again by what they run when a pid file is gone (an ``up``
that was killed half-way)."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from tests.cluster.errors import ClusterError
from tests.cluster.layout import LOG_DIR, PID_DIR


@dataclass(frozen=True)
class Running:
    name: str
    pid: int
    alive: bool
    log: Path


def _start_time(pid: int) -> str | None:
    """The process's start time in clock ticks (field 22 of /proc/PID/stat): a pid plus this
    names one process, never a later one that reused the pid."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]


def start(name: str, argv: Sequence[str], *, env: Mapping[str, str] | None = None) -> int:
    """Start ``argv`` in its own session, output to LOG_DIR/NAME.log, pid to PID_DIR/NAME.pid."""
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    PID_DIR.mkdir(parents=True, exist_ok=True)
    log = LOG_DIR / f"{name}.log"
    with open(log, "ab") as out:
        try:
            proc = subprocess.Popen(
                list(argv),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                env={**os.environ, **(env or {})},
            )
        except OSError as exc:
            raise ClusterError(name, f"cannot start {argv[0]}: {exc}") from exc
    (PID_DIR / f"{name}.pid").write_text(f"{proc.pid} {_start_time(proc.pid) or ''}\n")
    return proc.pid


def recorded() -> list[Running]:
    """Every process a pid file names, alive or not."""
    found = []
    for pidfile in sorted(PID_DIR.glob("*.pid")) if PID_DIR.is_dir() else []:
        fields = pidfile.read_text().split()
        if not fields:
            continue
        pid = int(fields[0])
        started = fields[1] if len(fields) > 1 else None
        alive = _start_time(pid) is not None and (started is None or _start_time(pid) == started)
        found.append(Running(pidfile.stem, pid, alive, LOG_DIR / f"{pidfile.stem}.log"))
    return found


def is_alive(name: str) -> bool:
    return any(r.alive for r in recorded() if r.name == name)


def log_tail(name: str, lines: int = 15) -> str:
    log = LOG_DIR / f"{name}.log"
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def matching(markers: Iterable[str] = (), *, program_under: Path | None = None) -> list[int]:
    """Pids of processes (not this one) whose command line contains one of ``markers``, or
    whose program (argv[0]) lies under ``program_under``."""
    wanted = [m.encode() for m in markers]
    prefix = str(program_under).encode() + b"/" if program_under else None
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if any(m in cmdline for m in wanted) or (prefix and cmdline.startswith(prefix)):
            pids.append(int(entry.name))
    return pids


def terminate(pids: Iterable[int], *, grace_s: float = 10.0) -> None:
    """SIGTERM, then SIGKILL what is left after ``grace_s``; returns when all are gone."""
    pending = {pid: _start_time(pid) for pid in pids}
    pending = {pid: st for pid, st in pending.items() if st is not None}
    for pid in pending:
        _signal(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while pending and time.monotonic() < deadline:
        pending = {pid: st for pid, st in pending.items() if _start_time(pid) == st}
        time.sleep(0.1)
    for pid in pending:
        _signal(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while pending and time.monotonic() < deadline:
        pending = {
            pid: st for pid, st in pending.items() if _start_time(pid) == st and not _zombie(pid)
        }
        time.sleep(0.05)
    if pending:
        raise ClusterError("down", f"processes survived SIGKILL: {sorted(pending)}")


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def _signal(pid: int, sig: signal.Signals) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def stop_recorded(names: Sequence[str], *, grace_s: float = 10.0) -> None:
    """Stop the named processes (in this order) and forget their pid files."""
    by_name = {r.name: r for r in recorded()}
    for name in names:
        running = by_name.get(name)
        if running is None:
            continue
        if running.alive:
            terminate([running.pid], grace_s=grace_s)
        (PID_DIR / f"{name}.pid").unlink(missing_ok=True)
