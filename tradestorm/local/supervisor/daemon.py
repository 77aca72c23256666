"""The supervisor process: brings the local target up, keeps it up, takes it down.

Start order: control API → PostgreSQL → proxies → migrate → replicas,
Prometheus and the demo accounts (in parallel) → ready. ``state.json`` is
rewritten after every step and every restart, so ``tradestorm down`` can
always find what runs, even after the supervisor itself was SIGKILLed.
Stop order: services → proxies → Prometheus → PostgreSQL → supervisor.

The ``Supervisor`` owns the target's ``Parts`` (parts.py, PostgreSQL's in
database.py); ``BringUp`` (bringup.py) starts them and the ``Monitor``
(monitor.py) keeps them up. The control API (control.py) is handed in by
``__main__``: this module does not import it.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import secrets
import signal
import time
from collections.abc import Callable
from typing import Any

import aiohttp
from aiohttp import web

from tradestorm.errors import TradestormError
from tradestorm.local.processes import TARGET_ID_ENV, terminate
from tradestorm.local.state import write_json_atomic
from tradestorm.local.supervisor.bringup import BringUp
from tradestorm.local.supervisor.logs import LogRotator
from tradestorm.local.supervisor.monitor import Monitor
from tradestorm.local.supervisor.parts import Parts, SupervisorOptions
from tradestorm.local.topology import HOST

log = logging.getLogger("tradestorm.supervisor")

PROBE_TIMEOUT_S = 1.0
STOP_GRACE_S = 10.0
EXIT_ALREADY_RUNNING = 3

#: makes the control API of a supervisor (``control.make_app``, wired in by ``__main__``)
ControlApp = Callable[["Supervisor"], web.Application]


class Supervisor:
    """One target's supervisor: its lock, its start, its control actions, its shutdown."""

    def __init__(self, options: SupervisorOptions) -> None:
        self.options = options
        # every process of this target inherits it: `down` finds stragglers by it
        target_id = options.target_id or secrets.token_hex(12)
        os.environ[TARGET_ID_ENV] = target_id
        self.parts = Parts(options, target_id)
        self.log_rotator = LogRotator(self.parts.layout.logs, options.log_rotation)
        self.stopping = asyncio.Event()
        self._lock_fd: int | None = None
        self._session: aiohttp.ClientSession | None = None
        self._runner: web.AppRunner | None = None
        self._monitor: asyncio.Task[None] | None = None  # keeps the target up once started
        self._stopped = False

    # ------------------------------------------------------------------ lifecycle
    def acquire_lock(self) -> bool:
        self.parts.layout.root.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.parts.layout.lock_file, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._lock_fd = fd
        return True

    async def run(self, control_app: ControlApp) -> int:
        """Start the target, keep it up until a stop is requested, take it down; the exit code."""
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            loop.add_signal_handler(sig, self.stopping.set)
        session = self._session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=PROBE_TIMEOUT_S),
            connector=aiohttp.TCPConnector(force_close=True, limit=0),
        )
        code = 0
        rotation = asyncio.create_task(self.log_rotator.run(), name="log rotation")
        try:
            await self._start_control_api(control_app)
            self.parts.save()
            await self._start(session)
            await self.stopping.wait()
        except TradestormError as exc:
            log.error("start failed: %s", exc)
            self.parts.error = str(exc)
            self.parts.phase = "failed"
            code = 1
        except Exception as exc:  # a bug must still take everything down
            log.exception("start failed")
            self.parts.error = f"{type(exc).__name__}: {exc}"
            self.parts.phase = "failed"
            code = 1
        finally:
            # the monitor too when the start failed while it waited for readiness: left
            # running, it could restart a replica the shutdown had just stopped
            for task in (self._monitor, rotation):
                if task is not None:
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
            await self.shutdown()
        return code

    async def _start(self, session: aiohttp.ClientSession) -> None:
        """Bring the target up and wait until all of it is ready, or a stop is requested;
        the monitor (``self._monitor``) keeps it up from then on."""
        timeout_s = self.options.start_timeout_s
        bring_up = BringUp(self.options, self.parts, session, self.stopping,
                           self.log_rotator.generation)
        bring_up.prepare()
        deadline = time.monotonic() + timeout_s
        await bring_up.start(deadline)
        monitor = Monitor(self.parts, session)
        watch = self._monitor = asyncio.create_task(monitor.run(), name="monitor")
        self.parts.step = "waiting for every replica to be ready"
        self.parts.save()
        if await monitor.wait_ready(watch, self.stopping, deadline, timeout_s):
            self.parts.phase = "ready"
            self.parts.step = ""
            self.parts.save()
            log.info("ready: gateway %s, prometheus %s", self.parts.state()["gateway_url"],
                     self.parts.prometheus_url)

    # ------------------------------------------------------------------ control actions
    def kill_replicas(self, service: str, count: int, sig: signal.Signals,
                      names: list[str] | None = None) -> list[dict[str, Any]]:
        import random

        running = [r for r in self.parts.replicas[service] if r.running]
        if names:
            running = [r for r in running if r.name in names]
        chosen = random.sample(running, min(count, len(running)))
        killed = []
        for r in chosen:
            assert r.process is not None
            pid = r.process.pid
            with contextlib.suppress(ProcessLookupError):
                r.process.send_signal(sig)
            r.ready = False
            r.killed_on_request = True
            killed.append({"name": r.name, "pid": pid, "signal": sig.name})
            log.warning("%s (pid %d) killed with %s on request", r.name, pid, sig.name)
        return killed

    async def stop_database(self, mode: str = "fast",
                            duration_s: float | None = None) -> dict[str, Any]:
        """Stop PostgreSQL; with ``duration_s`` it is started again by itself afterwards."""
        await self.parts.database.stop(mode, duration_s)
        return self.parts.database.view(self.parts.proxy_dsn)

    async def start_database(self) -> dict[str, Any]:
        await self.parts.database.start()
        return self.parts.database.view(self.parts.proxy_dsn)

    # ------------------------------------------------------------------ control API
    async def _start_control_api(self, control_app: ControlApp) -> None:
        self._runner = web.AppRunner(control_app(self), handle_signals=False, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, HOST, 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.parts.control_url = f"http://{HOST}:{port}"

    # ------------------------------------------------------------------ shutdown
    async def shutdown(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        if self.parts.phase != "failed":
            self.parts.phase = "stopping"
            self.parts.step = ""
        with contextlib.suppress(Exception):
            self.parts.save()
        log.info("stopping: services")
        procs = [r.record for rs in self.parts.replicas.values() for r in rs
                 if r.running and r.record is not None]
        for r in (r for rs in self.parts.replicas.values() for r in rs):
            r.restart_at = None
        await asyncio.to_thread(terminate, procs, STOP_GRACE_S)
        for rs in self.parts.replicas.values():
            for r in rs:
                if r.process is not None:
                    with contextlib.suppress(Exception):
                        r.process.wait(timeout=1)
        for helper in (self.parts.proxy, self.parts.prometheus):
            if helper is None:
                continue
            log.info("stopping: %s", helper.name)
            helper.restart_at = None
            if helper.running and helper.record is not None:
                await asyncio.to_thread(terminate, [helper.record], STOP_GRACE_S)
            if helper.process is not None:
                with contextlib.suppress(Exception):
                    helper.process.wait(timeout=1)
        await self.parts.database.shutdown()
        if self._session is not None:
            await self._session.close()
        if self._runner is not None:
            with contextlib.suppress(Exception):
                await self._runner.cleanup()
        if self.parts.phase == "failed":
            # keep the error for `tradestorm up` to report, but nothing runs any more
            with contextlib.suppress(Exception):
                data = self.parts.state()
                data["phase"] = "failed"
                write_json_atomic(self.parts.layout.root / "last-error.json", data)
        self.parts.layout.state_file.unlink(missing_ok=True)
        log.info("stopped")

