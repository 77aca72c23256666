"""``tradestorm down`` on the local target: ask the supervisor to stop, then make sure
that nothing of the target is left.

Every PID recorded in ``state.json`` is verified (command line + creation time) before it
is signalled, and any straggler is found by the target id every process of the target
inherits. It works after the supervisor was SIGKILLed and on a damaged ``state.json``."""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import signal
import time
from pathlib import Path
from typing import Any

import httpx
import psutil

from tradestorm.errors import ComponentError, TargetError
from tradestorm.local.postgres import PostgresServer
from tradestorm.local.processes import ProcessRecord, processes_of_target, terminate
from tradestorm.local.state import StateLayout, read_state_file

log = logging.getLogger(__name__)

SUPERVISOR_MODULE = "tradestorm.local.supervisor"
# the supervisor gives its services 10 s to stop, then Prometheus and PostgreSQL
SHUTDOWN_WAIT_S = 45.0
HTTP_TIMEOUT_S = 3.0


class Teardown:
    """Stops the local target of one state folder."""

    def __init__(self, state_dir: Path, layout: StateLayout) -> None:
        self.state_dir = state_dir
        self.layout = layout

    def down(self) -> None:
        """Stop everything: services → proxies → Prometheus → PostgreSQL → supervisor.

        Idempotent; works also after the supervisor was SIGKILLed.
        """
        state = self._state_for_down()
        if state is None:
            return
        supervisor = ProcessRecord.from_state(_entry(state.get("supervisor")))
        if supervisor is not None and supervisor.alive():
            self._ask_supervisor_to_stop(state, supervisor)
        # whatever is left (supervisor killed, or stuck): stop it ourselves, in order
        latest = state
        with contextlib.suppress(TargetError):
            latest = read_state_file(self.state_dir) or state
        self._sweep(latest)
        if supervisor is not None:
            terminate([supervisor], 5.0)
        self.layout.state_file.unlink(missing_ok=True)

    def _state_for_down(self) -> dict[str, Any] | None:
        """What ``down`` must stop, even when state.json is damaged (never delete blindly).

        Unknown schema: the JSON as it is. Not JSON: the supervisor that holds
        ``supervisor.lock`` (its command line verified). Neither: ``TargetError``,
        and state.json stays for a human to look at.
        """
        try:
            return read_state_file(self.state_dir)
        except TargetError as exc:
            reason = str(exc)
        with contextlib.suppress(OSError, ValueError):
            data = json.loads(self.layout.state_file.read_text())
            if isinstance(data, dict):
                log.warning("%s; stopping what it names anyway", reason)
                return data
        found = self.supervisor_from_lock()
        if found is None:
            users = self._processes_using_state_dir()
            if not users and not self._lock_held():
                # verified: nothing of a target runs here, so the file is only debris
                log.warning("%s; nothing runs there: removing it", reason)
                self.layout.state_file.unlink(missing_ok=True)
                return None
            pids = ", ".join(str(p.pid) for p in users) or "unknown"
            raise TargetError(
                f"{reason}. No supervisor of {self.state_dir} could be found from "
                f"{self.layout.lock_file}, yet processes still use the folder (pids: {pids}): "
                f"stop them by hand (their environment has TRADESTORM_TARGET_ID), then delete "
                f"{self.layout.state_file}")
        record, target_id = found
        log.warning("%s; stopping the supervisor %d found from %s", reason, record.pid,
                    self.layout.lock_file)
        return {"supervisor": record.to_state(), "target_id": target_id}

    def supervisor_from_lock(self) -> tuple[ProcessRecord, str] | None:
        """The live supervisor of this state folder named by ``supervisor.lock``, and
        its target id ("" when unknown); None when there is none."""
        try:
            pid = int(self.layout.lock_file.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None
        try:
            proc = psutil.Process(pid)
            cmdline = proc.cmdline()
            if proc.status() == psutil.STATUS_ZOMBIE:
                return None
        except psutil.Error:
            return None
        if SUPERVISOR_MODULE not in cmdline or _arg(cmdline, "--state-dir") is None:
            return None
        if Path(_arg(cmdline, "--state-dir") or "").absolute() != self.state_dir:
            return None
        record = ProcessRecord.of(pid, SUPERVISOR_MODULE)
        if record is None:
            return None
        return record, _arg(cmdline, "--target-id") or ""

    def _lock_held(self) -> bool:
        """Whether some process holds ``supervisor.lock`` (a supervisor runs here)."""
        try:
            fd = os.open(self.layout.lock_file, os.O_RDONLY)
        except OSError:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return True
        finally:
            os.close(fd)  # closing releases a lock we got
        return False

    def _processes_using_state_dir(self) -> list[psutil.Process]:
        """Live processes that name the state folder on their command line or hold a
        file of it open (every process of the target writes its log into STATE/logs)."""
        root = str(self.state_dir)
        found = []
        for proc in psutil.process_iter(["cmdline"]):
            try:
                if proc.pid == os.getpid() or proc.status() == psutil.STATUS_ZOMBIE:
                    continue
                if root in " ".join(proc.info["cmdline"] or []) or any(
                        f.path.startswith(root + os.sep) for f in proc.open_files()):
                    found.append(proc)
            except psutil.Error:
                continue
        return found

    def _ask_supervisor_to_stop(self, state: dict[str, Any], supervisor: ProcessRecord) -> None:
        url = (state.get("supervisor") or {}).get("control_url")
        asked = False
        if url:
            with contextlib.suppress(httpx.HTTPError):
                httpx.post(f"{url}/shutdown", timeout=HTTP_TIMEOUT_S).raise_for_status()
                asked = True
        proc = supervisor.process()
        if proc is None:
            return
        if not asked:
            with contextlib.suppress(psutil.Error):
                proc.send_signal(signal.SIGTERM)
        with contextlib.suppress(psutil.Error):
            proc.wait(SHUTDOWN_WAIT_S)
            return
        log.warning("supervisor %d did not stop in %.0fs; stopping its processes directly",
                    supervisor.pid, SHUTDOWN_WAIT_S)
        with contextlib.suppress(psutil.Error):
            proc.kill()

    def _sweep(self, state: dict[str, Any]) -> None:
        services = state.get("services")
        replicas = [
            ProcessRecord.from_state(_entry(r))
            for svc in (services.values() if isinstance(services, dict) else ())
            if isinstance(svc, dict) and isinstance(svc.get("replicas"), list)
            for r in svc["replicas"]
        ]
        terminate([r for r in replicas if r is not None], 10.0)
        proxy = ProcessRecord.from_state(_entry(state.get("proxy_process")))
        prometheus = ProcessRecord.from_state(_entry(state.get("prometheus")))
        terminate([p for p in (proxy, prometheus) if p is not None], 10.0)
        self._stop_postgres(state)
        # stragglers: anything still carrying this target's id (e.g. a replica
        # restarted after the last state.json write, right before a SIGKILL)
        self.sweep_target(str(state.get("target_id") or ""),
                           (_entry(state.get("supervisor")) or {}).get("pid"))

    def sweep_target(self, target_id: str, sup_pid: Any) -> None:
        """Stop every process that carries ``target_id`` (the supervisor last)."""
        left = processes_of_target(target_id)
        if left:
            log.warning("stopping %d straggler process(es) of target %s", len(left), target_id)
            ordered = sorted(left, key=lambda p: p.pid == sup_pid)
            for proc in ordered:
                with contextlib.suppress(psutil.Error):
                    proc.terminate()
            _, alive = psutil.wait_procs(ordered, timeout=10)
            for proc in alive:
                with contextlib.suppress(psutil.Error):
                    proc.kill()
            psutil.wait_procs(alive, timeout=5)

    def _stop_postgres(self, state: dict[str, Any]) -> None:
        pg = _entry(state.get("postgres")) or {}
        record = ProcessRecord.from_state(pg)
        if record is None or not record.alive():
            return
        data_dir = pg.get("data_dir")
        if data_dir and pg.get("port"):
            server = PostgresServer(data_dir=Path(data_dir), port=int(pg["port"]),
                                    log_file=self.layout.log("postgres"))
            with contextlib.suppress(ComponentError):
                server.stop(mode="fast")
        # SIGQUIT is PostgreSQL's immediate shutdown; only if pg_ctl could not do it
        terminate([record], 10.0, signal.SIGQUIT)
        # pg_ctl returns once the pid file is gone, a moment before the process exits
        deadline = time.monotonic() + 10
        while record.alive() and time.monotonic() < deadline:
            time.sleep(0.05)


def _entry(value: Any) -> dict[str, Any] | None:
    """A ``state.json`` entry, or None when it is not an object (a damaged file)."""
    return value if isinstance(value, dict) else None


def _arg(cmdline: list[str], name: str) -> str | None:
    """The value after ``name`` (or of ``name=value``) in a command line."""
    for i, arg in enumerate(cmdline):
        if arg == name and i + 1 < len(cmdline):
            return cmdline[i + 1]
        if arg.startswith(name + "="):
            return arg[len(name) + 1:]
    return None
