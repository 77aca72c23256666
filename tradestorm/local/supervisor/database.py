"""The target's PostgreSQL under the supervisor.

Started by the bring-up, stopped and started on request (a stop with
``duration_s`` ends by itself), restarted with back-off when it crashed while it
should run, and stopped last when the supervisor stops.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from collections.abc import Callable
from typing import Any

from tradestorm.errors import TradestormError
from tradestorm.local.postgres import PostgresServer, free_port
from tradestorm.local.processes import ProcessRecord, terminate
from tradestorm.local.state import StateLayout
from tradestorm.local.supervisor.replicas import backoff_delay
from tradestorm.local.topology import DATABASE_NAME

log = logging.getLogger("tradestorm.supervisor")


class Database:
    """PostgreSQL as the supervisor runs it; ``save`` writes state.json after a change."""

    def __init__(self, layout: StateLayout, save: Callable[[], None]) -> None:
        self.layout = layout
        self._save = save
        self.server: PostgresServer | None = None
        self.record: ProcessRecord | None = None
        self.desired = True
        self.up = False
        self.restarts = 0
        self._lock = asyncio.Lock()
        self._failures = 0
        self._restart_at: float | None = None
        # a stop with duration_s: when (monotonic) the database is started again by itself
        self._resume_at: float | None = None

    def create(self) -> PostgresServer:
        """The server on a free port, in the state folder; not started yet."""
        self.server = PostgresServer(
            data_dir=self.layout.postgres_data, port=free_port(),
            log_file=self.layout.log("postgres"), database=DATABASE_NAME,
        )
        return self.server

    def mark_started(self) -> None:
        """The server was started: note its process; it is up."""
        assert self.server is not None
        pid = self.server.pid()
        self.record = ProcessRecord.of(pid, str(self.server.data_dir)) if pid else None
        self.up = True

    # ------------------------------------------------------------------ on request
    async def stop(self, mode: str = "fast", duration_s: float | None = None) -> None:
        """Stop PostgreSQL; with ``duration_s`` it is started again by itself afterwards."""
        assert self.server is not None
        async with self._lock:
            self.desired = False
            self._restart_at = None
            self._resume_at = (time.monotonic() + duration_s
                               if duration_s is not None else None)
            try:
                await asyncio.to_thread(self.server.stop, mode)
            except BaseException:
                self.desired = self.server.pid() is not None or self.desired
                if self.desired:
                    self._resume_at = None
                raise
            self.up = False
        self._save()
        log.warning("postgres stopped on request (mode %s)", mode)

    async def start(self) -> None:
        assert self.server is not None
        async with self._lock:
            self.desired = True
            self._resume_at = None
            await asyncio.to_thread(self.server.start)
            self.mark_started()
        self._save()
        log.warning("postgres started on request")

    # ------------------------------------------------------------------ monitoring
    async def check(self, now: float) -> None:
        """One look from the monitor: ends a timed stop, notes whether it accepts
        connections, restarts it with back-off when it crashed while it should run."""
        pg = self.server
        if pg is None or self._lock.locked():
            return
        if (not self.desired and self._resume_at is not None
                and time.monotonic() >= self._resume_at):
            # a timed stop outlives nobody: not even a chaos run killed mid-outage
            log.warning("the requested database stop has expired; starting postgres")
            try:
                await self.start()
            except TradestormError as exc:
                # desired is "running" again: the crash path below retries with back-off
                log.error("postgres start after the timed stop failed: %s", exc)
            return
        self.up = await asyncio.to_thread(pg.accepting, 0.5)
        if self.up or not self.desired:
            return
        if pg.pid() is not None:
            return  # running but not accepting (starting, or overloaded)
        # crashed while it should run: restart with back-off, like a replica
        if self._restart_at is None:
            self._failures += 1
            self._restart_at = now + backoff_delay(self._failures)
            log.warning("postgres is down; restart in %.1fs", self._restart_at - now)
            return
        if now >= self._restart_at:
            self._restart_at = None
            async with self._lock:
                try:
                    await asyncio.to_thread(pg.start)
                    self.restarts += 1
                    self.mark_started()
                    self._failures = 0
                    self._save()
                except TradestormError as exc:
                    log.error("postgres restart failed: %s", exc)

    # ------------------------------------------------------------------ views
    def view(self, proxy_dsn: str) -> dict[str, Any]:
        """``database`` of ``GET /status`` and of the answers to a stop or a start."""
        return {
            "up": self.up,
            "desired": "running" if self.desired else "stopped",
            "pid": self.server.pid() if self.server else None,
            "dsn": self.server.dsn if self.server else None,
            "proxy_dsn": proxy_dsn or None,
            "restarts": self.restarts,
            # seconds until a timed stop ends and the database starts by itself
            "resumes_in_s": (round(max(0.0, self._resume_at - time.monotonic()), 1)
                             if self._resume_at is not None and not self.desired
                             else None),
        }

    def to_state(self, proxy_dsn: str) -> dict[str, Any]:
        """``postgres`` of state.json."""
        pg = self.server
        return {
            "dsn": pg.dsn if pg else None,
            "proxy_dsn": proxy_dsn or None,
            "pid": self.record.pid if self.record else None,
            "create_time": self.record.create_time if self.record else None,
            "marker": self.record.marker if self.record else None,
            "data_dir": str(self.layout.postgres_data),
            "port": pg.port if pg else None,
            "desired": "running" if self.desired else "stopped",
            "up": self.up,
        }

    # ------------------------------------------------------------------ shutdown
    async def shutdown(self) -> None:
        """Stop it for good (the last of the target to stop), and wait until it is gone."""
        if self.server is None:
            return
        log.info("stopping: postgres")
        try:
            await asyncio.to_thread(self.server.stop, "fast")
        except TradestormError as exc:
            log.error("postgres stop failed (%s); sending SIGQUIT", exc)
            if self.record is not None:
                await asyncio.to_thread(terminate, [self.record], 5.0, signal.SIGQUIT)
        # pg_ctl returns once the pid file is gone; wait for the process itself
        record = self.record
        if record is not None:
            await asyncio.to_thread(_wait_gone, record, 10.0)


def _wait_gone(record: ProcessRecord, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while record.alive():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True
