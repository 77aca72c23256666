"""A long-running helper process of the target (the proxy process, Prometheus)."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from typing import Any

from tradestorm.local.processes import ProcessRecord, log_tail, spawn


class Helper:
    """A long-running helper process (proxies, Prometheus) restarted when it dies."""

    def __init__(self, name: str, argv: list[str], log_file: Path, marker: str) -> None:
        self.name = name
        self.argv = argv
        self.log_file = log_file
        self.marker = marker
        self.process: subprocess.Popen[bytes] | None = None
        self.record: ProcessRecord | None = None
        self.restarts = 0
        self.failures = 0
        self.started_at = 0.0
        self.restart_at: float | None = None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self) -> None:
        self.process = spawn(self.argv, log_file=self.log_file)
        self.record = ProcessRecord.of(self.process.pid, self.marker)
        self.started_at = time.time()
        self.restart_at = None

    def last_lines(self, lines: int = 3) -> str:
        """The end of its log (only it writes there): why a helper that died died."""
        return log_tail(self.log_file, lines).strip()

    def to_state(self) -> dict[str, Any]:
        data: dict[str, Any] = {"running": self.running, "restarts": self.restarts}
        if self.record is not None and self.running:
            data.update(self.record.to_state())
        elif self.process is not None:
            # down: say how it ended and what it said last (a port taken, a bad config...)
            data["last_exit"] = self.process.poll()
            data["last_output"] = self.last_lines()[-500:]
        return data
