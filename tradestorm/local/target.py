"""``LocalTarget``: the local target behind ``tradestorm up / status / down`` (contracts §5).

``up`` starts the supervisor (``python -m tradestorm.local.supervisor``) in a
session of its own and waits until it reports every component ready; the
supervisor does the rest. ``down`` asks it to stop and then makes sure that
nothing of the target is left (``teardown``); ``status`` is ``target_status``.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import secrets
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tradestorm.errors import ComponentError, TargetError
from tradestorm.local import prometheus as prom
from tradestorm.local.processes import ProcessRecord, log_tail, spawn
from tradestorm.local.state import StateLayout, read_state_file, resolve_state_dir
from tradestorm.local.target_status import target_status
from tradestorm.local.teardown import SHUTDOWN_WAIT_S, SUPERVISOR_MODULE, Teardown
from tradestorm.local.topology import DEFAULT_ACCOUNTS, DEFAULT_REPLICAS
from tradestorm.targets import Connection, Say, TargetStatus

EXIT_ALREADY_RUNNING = 3


class LocalTarget:
    """The platform on 127.0.0.1: PostgreSQL, proxies, Prometheus, N replicas per service."""

    name = "local"

    def __init__(self, state_dir: Path | None = None, replicas: int = DEFAULT_REPLICAS, *,
                 fresh: bool = False, accounts: int = DEFAULT_ACCOUNTS,
                 log_max_bytes: int | None = None) -> None:
        if isinstance(replicas, bool) or not isinstance(replicas, int) or not 1 <= replicas <= 16:
            raise TargetError(f"replicas must be an integer from 1 to 16, got {replicas!r}")
        if isinstance(accounts, bool) or not isinstance(accounts, int) or accounts < 1:
            raise TargetError(f"accounts must be a positive integer, got {accounts!r}")
        self.state_dir = resolve_state_dir(state_dir)
        self.layout = StateLayout(self.state_dir)
        self.replicas = replicas
        self.fresh = fresh
        self.accounts = accounts
        # None: the supervisor's default ($TRADESTORM_LOG_MAX_BYTES, else 50 MiB); 0: never
        if log_max_bytes is not None and (isinstance(log_max_bytes, bool)
                                          or not isinstance(log_max_bytes, int)
                                          or log_max_bytes < 0):
            raise TargetError(f"log_max_bytes must be an integer >= 0, got {log_max_bytes!r}")
        self.log_max_bytes = log_max_bytes
        self._teardown = Teardown(self.state_dir, self.layout)

    # ------------------------------------------------------------------ queries
    def running_supervisor(self) -> tuple[ProcessRecord, dict[str, Any]] | None:
        """The live supervisor and its state, or None when nothing runs."""
        state = read_state_file(self.state_dir)
        if state is None:
            return None
        record = ProcessRecord.from_state(state.get("supervisor"))
        if record is None or not record.alive():
            return None
        return record, state

    # ------------------------------------------------------------------ up
    def up(self, *, wait: bool = True, timeout_s: float = 120,
           progress: Callable[[str], None] | None = None) -> TargetStatus:
        """Bring the target up; no change when it already runs. Waits until ready."""
        say = progress or (lambda _msg: None)
        if self.running_supervisor() is not None:
            return self.status()
        if read_state_file(self.state_dir) is not None:
            say("a previous target here was not shut down cleanly: cleaning it up first")
            self.down()
        self._preflight()
        self.layout.logs.mkdir(parents=True, exist_ok=True)
        (self.layout.root / "last-error.json").unlink(missing_ok=True)
        argv = [sys.executable, "-m", SUPERVISOR_MODULE, "--state-dir", str(self.state_dir),
                "--replicas", str(self.replicas), "--accounts", str(self.accounts),
                "--timeout", str(float(timeout_s))]
        if self.fresh:
            argv.append("--fresh")
        if self.log_max_bytes is not None:
            argv += ["--log-max-bytes", str(self.log_max_bytes)]
        # chosen here, so that an `up` interrupted before the supervisor's first
        # state.json can still find every process of the target
        target_id = secrets.token_hex(12)
        argv += ["--target-id", target_id]
        try:
            proc = spawn(argv, log_file=self.layout.log("supervisor"), new_session=True)
        except OSError as exc:
            raise TargetError(f"cannot start the supervisor ({argv[0]}): {exc}") from exc
        try:
            say(f"supervisor started (pid {proc.pid}), logs in {self.layout.logs}")
            return self._wait(proc, wait=wait, timeout_s=timeout_s, say=say)
        except BaseException:
            # an `up` that fails or is interrupted leaves nothing behind
            self._abort_start(proc, target_id)
            raise

    def _abort_start(self, proc: subprocess.Popen[bytes], target_id: str) -> None:
        """Undo a failed or interrupted ``up``, whether or not state.json exists yet."""
        if proc.returncode == EXIT_ALREADY_RUNNING:
            return  # another `up` won the race: its target is not ours to stop
        with contextlib.suppress(Exception):
            self.down()  # what state.json knows, the supervisor first
        with contextlib.suppress(Exception):
            if proc.poll() is None:  # no state.json yet: our child is all we know
                proc.terminate()  # the supervisor stops what it started, then exits
                try:
                    proc.wait(SHUTDOWN_WAIT_S)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(5)
        with contextlib.suppress(Exception):
            self._teardown.sweep_target(target_id, proc.pid)
        with contextlib.suppress(Exception):
            if proc.poll() is not None and not self._supervisor_runs():
                self.layout.state_file.unlink(missing_ok=True)

    def _supervisor_runs(self) -> bool:
        with contextlib.suppress(TargetError):
            return self.running_supervisor() is not None
        return self._teardown.supervisor_from_lock() is not None

    def _preflight(self) -> None:
        prom.find_binary()
        prom.rule_files()
        if importlib.util.find_spec("tradeplat") is None:
            raise ComponentError("platform", "the 'tradeplat' package is not installed "
                                 "(run 'uv sync' in the repository)")

    def _wait(self, proc: subprocess.Popen[bytes], *, wait: bool, timeout_s: float,
              say: Callable[[str], None]) -> TargetStatus:
        deadline = time.monotonic() + timeout_s + 15  # the supervisor enforces timeout_s itself
        last_phase = ""
        while True:
            code = proc.poll()
            if code is not None:
                if code == EXIT_ALREADY_RUNNING:
                    return self.status()
                raise ComponentError("target", self._failure_reason(code))
            state = read_state_file(self.state_dir)
            phase = (state or {}).get("phase", "")
            if state is not None and (state.get("supervisor") or {}).get("pid") == proc.pid:
                shown = f"{phase}: {state['step']}" if state.get("step") else phase
                if shown != last_phase:
                    say(f"supervisor: {shown}")
                    last_phase = shown
                if phase == "ready" or not wait:
                    return self.status()
            if time.monotonic() > deadline:
                raise ComponentError("target", f"not ready after {timeout_s:.0f}s; see "
                                     f"{self.layout.log('supervisor')}")
            time.sleep(0.2)

    def _failure_reason(self, code: int) -> str:
        if code == 0:
            return "stopped before it was ready ('tradestorm down' or a signal to the supervisor)"
        err_file = self.layout.root / "last-error.json"
        with contextlib.suppress(OSError, json.JSONDecodeError):
            error = json.loads(err_file.read_text()).get("error")
            if error:
                return f"failed to start: {error}"
        tail = log_tail(self.layout.log("supervisor"))
        return f"supervisor exited with {code} while starting:\n{tail}"

    # ------------------------------------------------------------------ down
    def down(self) -> None:
        """Stop everything: services → proxies → Prometheus → PostgreSQL → supervisor.

        Idempotent; works also after the supervisor was SIGKILLed (``teardown``)."""
        self._teardown.down()

    # ------------------------------------------------------------------ status
    def connect(self, *, say: Say = print, bring_up: bool = False, down_after: bool = False,
                keep_up: bool = False) -> Connection:
        """The running target as a run's connection (``tradestorm.local.connect``)."""
        from tradestorm.local.connect import connect_local

        return connect_local(self, say=say, bring_up=bring_up, down_after=down_after,
                             keep_up=keep_up)

    def status(self) -> TargetStatus:
        return target_status(self.name, self.state_dir)
