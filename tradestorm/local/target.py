"""``LocalTarget``: the local target behind ``tradestorm up / status / down`` (contracts §5).

``up`` starts the supervisor (``python -m tradestorm.local.supervisor``) in a
session of its own and waits until it reports every component ready; the
supervisor does the rest. ``down`` asks it to stop and then makes sure that
nothing of the target is left: every PID recorded in ``state.json`` is
verified (command line + creation time) before it is signalled, and any
straggler is found by the target id every process of the target inherits.
"""

from __future__ import annotations

import contextlib
import fcntl
import importlib.util
import json
import logging
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import psutil

from tradestorm.errors import ComponentError, TargetError
from tradestorm.local import prometheus as prom
from tradestorm.local.postgres import PostgresServer
from tradestorm.local.processes import (
    ProcessRecord,
    log_tail,
    processes_of_target,
    spawn,
    terminate,
)
from tradestorm.local.state import StateLayout, read_state_file, resolve_state_dir
from tradestorm.local.topology import DEFAULT_ACCOUNTS, DEFAULT_REPLICAS, SERVICES
from tradestorm.targets import ComponentStatus, Connection, Say, TargetStatus

log = logging.getLogger(__name__)

SUPERVISOR_MODULE = "tradestorm.local.supervisor"
# the supervisor gives its services 10 s to stop, then Prometheus and PostgreSQL
SHUTDOWN_WAIT_S = 45.0
HTTP_TIMEOUT_S = 3.0
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
            self._sweep_target(target_id, proc.pid)
        with contextlib.suppress(Exception):
            if proc.poll() is not None and not self._supervisor_runs():
                self.layout.state_file.unlink(missing_ok=True)

    def _supervisor_runs(self) -> bool:
        with contextlib.suppress(TargetError):
            return self.running_supervisor() is not None
        return self._supervisor_from_lock() is not None

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
        found = self._supervisor_from_lock()
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

    def _supervisor_from_lock(self) -> tuple[ProcessRecord, str] | None:
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
        self._sweep_target(str(state.get("target_id") or ""),
                           (_entry(state.get("supervisor")) or {}).get("pid"))

    def _sweep_target(self, target_id: str, sup_pid: Any) -> None:
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

    # ------------------------------------------------------------------ status
    def connect(self, *, say: Say = print, bring_up: bool = False, down_after: bool = False,
                keep_up: bool = False) -> Connection:
        """The running target as a run's connection (``tradestorm.local.connect``)."""
        from tradestorm.local.connect import connect_local

        return connect_local(self, say=say, bring_up=bring_up, down_after=down_after,
                             keep_up=keep_up)

    def status(self) -> TargetStatus:
        state = read_state_file(self.state_dir)
        if state is None:
            return TargetStatus(self.name, running=False)
        supervisor = ProcessRecord.from_state(state.get("supervisor"))
        sup_alive = supervisor is not None and supervisor.alive()
        components: list[ComponentStatus] = []
        control_url = (state.get("supervisor") or {}).get("control_url", "")
        view: dict[str, Any] | None = None
        if sup_alive and control_url:
            with contextlib.suppress(httpx.HTTPError, ValueError):
                resp = httpx.get(f"{control_url}/status", timeout=HTTP_TIMEOUT_S)
                resp.raise_for_status()
                view = resp.json()
        if not sup_alive:
            leftovers = self._live_processes(state)
            if not leftovers:
                return TargetStatus(self.name, running=False)
            components.append(ComponentStatus(
                "supervisor", "supervisor", False, control_url,
                detail=f"not running; {len(leftovers)} process(es) of the target are left: "
                       "run 'tradestorm down'"))
            return TargetStatus(self.name, running=True, components=components)
        phase = (view or {}).get("phase", state.get("phase", "?"))
        components.append(ComponentStatus(
            "supervisor", "supervisor", view is not None and phase == "ready", control_url,
            detail=f"pid {supervisor.pid if supervisor else '?'}, {phase}, since "
                   f"{state.get('started_at', '?')}"
                   + ("" if view is not None else "; control API not answering")))
        if view is None:
            return TargetStatus(self.name, running=True, components=components)
        db = view.get("database") or {}
        pg = state.get("postgres") or {}
        components.append(ComponentStatus(
            "postgres", "database", bool(db.get("up")), f"127.0.0.1:{pg.get('port', '?')}",
            detail=("stopped on request" if db.get("desired") == "stopped" else
                    ("" if db.get("up") else "not accepting connections"))))
        prom_url = (state.get("prometheus") or {}).get("url") or ""
        components.append(ComponentStatus(
            "prometheus", "monitoring", bool(prom_url) and _http_ok(f"{prom_url}/-/ready"),
            prom_url))
        proxies = view.get("proxies") or {}
        proxy_running = bool(proxies.get("running"))
        proxy_down = "proxy process not running"
        if proxies.get("last_exit") is not None:  # what it said last says why
            said = (proxies.get("last_output") or "").strip().splitlines()[-1:]
            proxy_down += (f" (exited with {proxies['last_exit']} after "
                           f"{proxies.get('restarts', 0)} restart(s)"
                           + "".join(f": {line}" for line in said) + ")")
        for service in SERVICES:
            svc = (view.get("services") or {}).get(service) or {}
            desired, ready = int(svc.get("desired", 0)), int(svc.get("ready", 0))
            components.append(ComponentStatus(
                service, "service", desired > 0 and ready == desired,
                svc.get("proxy_url") or "", replicas_ready=ready, replicas_desired=desired,
                detail=f"{svc.get('restarts', 0)} restart(s)" if svc.get("restarts") else ""))
        addresses = proxies.get("addresses") or {}
        for name in (*SERVICES, "postgres"):
            entry = addresses.get(name) or {}
            detail = ""
            healthy = proxy_running
            control = entry.get("control_url")
            if proxy_running and control:
                faults = _http_json(f"{control}/faults")
                if faults is None:
                    healthy, detail = False, "control API not answering"
                elif faults.get("faults"):
                    # a fault in force is not a healthy platform (a killed run may have left it)
                    healthy = False
                    detail = "fault in force: " + ", ".join(f["kind"] for f in faults["faults"])
            elif not proxy_running:
                detail = proxy_down
            components.append(ComponentStatus(f"proxy/{name}", "proxy", healthy,
                                              entry.get("listen", ""), detail=detail))
        return TargetStatus(self.name, running=True, components=components)

    def _live_processes(self, state: dict[str, Any]) -> list[ProcessRecord]:
        entries = [state.get("supervisor"), state.get("prometheus"), state.get("postgres"),
                   state.get("proxy_process")]
        entries += [r for svc in (state.get("services") or {}).values()
                    for r in (svc.get("replicas") or [])]
        records = [ProcessRecord.from_state(e) for e in entries]
        return [r for r in records if r is not None and r.alive()]


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


def _http_ok(url: str) -> bool:
    try:
        return httpx.get(url, timeout=HTTP_TIMEOUT_S).status_code == 200
    except httpx.HTTPError:
        return False


def _http_json(url: str) -> dict[str, Any] | None:
    try:
        resp = httpx.get(url, timeout=HTTP_TIMEOUT_S)
        resp.raise_for_status()
        data = resp.json()
        return data if isinstance(data, dict) else None
    except (httpx.HTTPError, ValueError):
        return None
