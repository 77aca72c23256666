"""One supervised replica: its process, its readiness and its restart back-off."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tradestorm.local.processes import ProcessRecord, read_log_since, spawn
from tradestorm.local.topology import HOST

BACKOFF_BASE_S = 0.5
BACKOFF_MAX_S = 30.0
# a replica that stayed up this long has its back-off forgotten (like a kubelet)
BACKOFF_RESET_AFTER_S = 10.0


def _never_rotated(_log_file: Path) -> int:
    return 0


def backoff_delay(consecutive_failures: int) -> float:
    """Delay before restart number ``consecutive_failures`` (1, 2, ...): 0.5 s doubling to 30 s."""
    if consecutive_failures <= 0:
        return 0.0
    return float(min(BACKOFF_MAX_S, BACKOFF_BASE_S * 2 ** (consecutive_failures - 1)))


@dataclass
class Replica:
    service: str
    index: int
    port: int
    log_file: Path
    process: subprocess.Popen[bytes] | None = None
    record: ProcessRecord | None = None
    ready: bool = False
    restarts: int = 0
    consecutive_failures: int = 0
    started_at: float = 0.0
    last_exit: int | None = None
    last_exit_at: float | None = None
    restart_at: float | None = None  # when a dead replica will be started again
    ready_since: float | None = None
    last_probe_error: str = ""
    log_offset: int = 0  # where this start's output begins in the log file...
    log_generation: int = 0  # ...after that many rotations of it (LogRotator.generation)
    # the rotations of a log so far: LogRotator.generation when the supervisor rotates
    log_rotations: Callable[[Path], int] = _never_rotated
    bind_conflict: bool = False  # the last exit was "address already in use"
    # killed on request (a pod kill): replaced at once like a deleted pod, not a crash
    killed_on_request: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return f"{self.service}-{self.index}"

    @property
    def address(self) -> str:
        return f"{HOST}:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.address}"

    @property
    def marker(self) -> str:
        return f"tradeplat {self.service} --host {HOST} --port {self.port}"

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    @property
    def state(self) -> str:
        if self.running:
            return "ready" if self.ready else "starting"
        if self.restart_at is not None:
            return "backoff"
        return "stopped"

    def argv(self) -> list[str]:
        return [sys.executable, "-m", "tradeplat", self.service, "--host", HOST,
                "--port", str(self.port)]

    def start(self, env: Mapping[str, str]) -> None:
        try:
            self.log_offset = self.log_file.stat().st_size
        except OSError:
            self.log_offset = 0
        # the size first, then the generation: see LogRotator
        self.log_generation = self.log_rotations(self.log_file)
        child_env = dict(env)
        child_env["TRADEPLAT_REPLICA"] = self.name
        self.process = spawn(self.argv(), log_file=self.log_file, env=child_env)
        self.record = ProcessRecord.of(self.process.pid, self.marker) or ProcessRecord(
            self.process.pid, 0.0, self.marker
        )
        self.started_at = time.time()
        self.ready = False
        self.ready_since = None
        self.restart_at = None

    def reap(self, now: float) -> bool:
        """If the process has exited: record it, schedule the restart, return True."""
        if self.process is None or self.process.poll() is None:
            return False
        self.last_exit = self.process.returncode
        self.last_exit_at = now
        self.bind_conflict = self.ready_since is None and self._log_since_start_has(
            "address already in use")
        self.ready = False
        self.ready_since = None
        self.process = None
        if self.killed_on_request:
            # Kubernetes replaces a deleted pod at once; only a crash backs off
            self.killed_on_request = False
            self.consecutive_failures = 0
            self.restart_at = now
            return True
        if now - self.started_at >= BACKOFF_RESET_AFTER_S:
            self.consecutive_failures = 0
        self.consecutive_failures += 1
        self.restart_at = now + backoff_delay(self.consecutive_failures)
        return True

    def output_since_start(self, limit: int = 65536) -> bytes:
        """The last ``limit`` bytes this start wrote, also across log rotations."""
        rotations = self.log_rotations(self.log_file) - self.log_generation
        return read_log_since(self.log_file, self.log_offset, rotations, limit)

    def last_lines(self, lines: int = 15) -> str:
        """This start's last lines of output (what a crashed replica said last)."""
        text = self.output_since_start(8192).decode("utf-8", "replace")
        return "\n".join(text.splitlines()[-lines:])

    def _log_since_start_has(self, text: str) -> bool:
        return text.encode() in self.output_since_start().lower()

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "name": self.name,
            "port": self.port,
            "pid": self.pid,
            "state": self.state,
            "ready": self.ready,
            "restarts": self.restarts,
            "started_at": self.started_at or None,
            "last_exit": self.last_exit,
            "restart_at": self.restart_at,
        }
        if self.record is not None and self.running:
            data.update(create_time=self.record.create_time, marker=self.record.marker)
        if self.last_probe_error and not self.ready:
            data["probe_error"] = self.last_probe_error
        return data
