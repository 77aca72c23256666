"""The Locust process under ``python -m loadtests.control``: started in its own process
group in the results folder, its output copied to ``RESULTS/logs/locust.log`` (and
echoed), stopped with SIGINT (graceful), killed if it must be, and its results
folder streamed as a gzip tar once it has exited."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tarfile
import threading
import time
from pathlib import Path
from typing import Any, BinaryIO

LOCUSTFILE = Path(__file__).resolve().parent / "locustfile.py"


class LocustChild:
    """The Locust process, its log, and its state as ``/status`` reports it."""

    def __init__(self, args: list[str], results_dir: Path, echo: BinaryIO | None) -> None:
        self.args = args
        self.results_dir = results_dir
        self.log_path = results_dir / "logs" / "locust.log"
        self._echo = echo
        self.process: subprocess.Popen[bytes] | None = None
        self.started_at: float | None = None
        self.ended_at: float | None = None
        self.exit_code: int | None = None
        self.stop_requested = False
        self.killed = False  # SIGKILLed after ignoring a stop for its grace
        self._lock = threading.Lock()
        self._exited = threading.Event()
        self._copier: threading.Thread | None = None

    @property
    def state(self) -> str:
        if self._exited.is_set():
            return "exited"
        return "running" if self.process is not None else "starting"

    def status(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "pid": self.process.pid if self.process is not None else None,
            "exit_code": self.exit_code,
            "started_at": self.started_at,
            "ended_at": self.ended_at,
            "stop_requested": self.stop_requested,
            "killed": self.killed,
        }

    def start(self) -> None:
        cmd = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), *self.args]
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self.started_at = time.time()
        try:
            self.process = subprocess.Popen(
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                cwd=self.results_dir,
                start_new_session=True,
            )
        except OSError as exc:
            self._log(f"loadtests.control: cannot start Locust: {exc}\n".encode())
            self._finish(127)
            return
        self._copier = threading.Thread(target=self._copy_output, daemon=True)
        self._copier.start()
        if self.stop_requested:  # asked to stop while it was being started
            self.process.send_signal(signal.SIGINT)

    def _copy_output(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        with open(self.log_path, "ab") as log_file:
            for line in iter(self.process.stdout.readline, b""):
                log_file.write(line)
                log_file.flush()
                self._echo_line(line)

    def _echo_line(self, line: bytes) -> None:
        if self._echo is not None:
            try:
                self._echo.write(line)
                self._echo.flush()
            except (OSError, ValueError):
                self._echo = None  # nobody reads our stdout any more: the log file still has it

    def _log(self, text: bytes) -> None:
        with open(self.log_path, "ab") as log_file:
            log_file.write(text)
        self._echo_line(text)

    def wait(self) -> int:
        """Wait for Locust to exit (and its output to be copied); returns its exit code."""
        if self.process is not None:
            returncode = self.process.wait()
            self._kill_group()  # processes it forked (--processes) that outlived it
            if self._copier is not None:
                self._copier.join(timeout=10)
            self._finish(returncode if returncode >= 0 else 128 - returncode)
        self._exited.wait()
        assert self.exit_code is not None
        return self.exit_code

    def abandon(self) -> None:
        """Never start Locust (the wrapper was stopped first): state ``exited``, code 143."""
        self._log(b"loadtests.control: terminated before Locust was started\n")
        self._finish(128 + signal.SIGTERM)

    def _finish(self, code: int) -> None:
        self.exit_code = code
        self.ended_at = time.time()
        self._exited.set()

    def stop(self) -> None:
        """SIGINT to Locust, once (a second Ctrl-C could cut its shutdown short)."""
        with self._lock:
            if self.stop_requested:
                return
            self.stop_requested = True
        if self.process is not None and self.process.poll() is None:
            try:
                self.process.send_signal(signal.SIGINT)
            except ProcessLookupError:
                pass

    def kill_after(self, grace_s: float) -> None:
        """SIGKILL Locust's process group unless it exits within ``grace_s``."""

        def kill() -> None:
            if not self._exited.wait(grace_s) and self.process is not None:
                self._log(f"loadtests.control: Locust still runs {grace_s:g} s after SIGINT: "
                          "killing it\n".encode())
                self.killed = True
                self._kill_group()

        threading.Thread(target=kill, daemon=True).start()

    def _kill_group(self) -> None:
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass

    def write_results(self, out: BinaryIO) -> None:
        """The results folder as a gzip tar (member names relative to it), streamed."""
        with tarfile.open(fileobj=out, mode="w|gz") as tar:
            for path in sorted(self.results_dir.rglob("*")):
                if path.is_file() and not path.is_symlink():
                    tar.add(path, arcname=path.relative_to(self.results_dir).as_posix())
