"""Backends of one proxy and their health checks.

Each backend is probed every ``interval_s``: HTTP services with ``GET /readyz``
(ready = 200, alive = any answer), TCP services (PostgreSQL) with a connect.
New connections go to ready backends first (round robin); when none is ready
the proxy falls back to the ones that are alive, then to all of them (like a
load balancer's panic mode: answering with errors beats refusing to route).
A backend that refuses a connection is marked down at once, without waiting
for the next probe.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass
from typing import Any

import aiohttp


@dataclass
class Backend:
    name: str
    host: str
    port: int
    alive: bool = True  # optimistic until the first probe says otherwise
    ready: bool = False
    active_connections: int = 0
    last_check: float = 0.0
    last_error: str = ""

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def mark_down(self, error: str) -> None:
        self.alive = False
        self.ready = False
        self.last_error = error

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "address": self.address,
            "healthy": self.ready,
            "alive": self.alive,
            "active_connections": self.active_connections,
            "last_check": self.last_check or None,
            "last_error": self.last_error or None,
        }


class BackendPool:
    """The backends of one proxy, kept fresh by periodic health checks."""

    def __init__(self, backends: list[Backend], *, check: str = "http", path: str = "/readyz",
                 interval_s: float = 1.0, timeout_s: float = 0.8) -> None:
        if check not in ("http", "tcp"):
            raise ValueError(f"unknown health check {check!r}")
        self.backends = backends
        self.check = check
        self.path = path
        self.interval_s = interval_s
        self.timeout_s = timeout_s
        self._rr = 0
        self._task: asyncio.Task[None] | None = None
        self._session: aiohttp.ClientSession | None = None

    @property
    def healthy_count(self) -> int:
        return sum(1 for b in self.backends if b.ready)

    def candidates(self) -> list[Backend]:
        """Backends to try for a new connection, best first."""
        n = len(self.backends)
        if n <= 1:
            return self.backends  # nothing to balance (and no list to build per connection)
        self._rr = (self._rr + 1) % n
        rotated = self.backends[self._rr:] + self.backends[: self._rr]
        ready = [b for b in rotated if b.ready]
        alive = [b for b in rotated if b.alive and not b.ready]
        rest = [b for b in rotated if not b.alive]
        return ready + alive + rest

    async def start(self) -> None:
        if self.check == "http":
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.timeout_s),
                connector=aiohttp.TCPConnector(force_close=True, limit=0),
            )
        await self.check_all()
        self._task = asyncio.create_task(self._run(), name="health-checks")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._session is not None:
            await self._session.close()

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval_s)
            await self.check_all()

    async def check_all(self) -> None:
        await asyncio.gather(*(self._check(b) for b in self.backends))

    async def _check(self, backend: Backend) -> None:
        try:
            if self.check == "http":
                assert self._session is not None
                url = f"http://{backend.host}:{backend.port}{self.path}"
                async with self._session.get(url) as resp:
                    await resp.read()
                    backend.alive = True
                    backend.ready = resp.status == 200
                    backend.last_error = (
                        "" if backend.ready else f"{self.path} answered {resp.status}"
                    )
            else:
                _, writer = await asyncio.wait_for(
                    asyncio.open_connection(backend.host, backend.port), self.timeout_s
                )
                writer.close()
                with contextlib.suppress(OSError):
                    await writer.wait_closed()
                backend.alive = backend.ready = True
                backend.last_error = ""
        except (TimeoutError, OSError, aiohttp.ClientError) as exc:
            backend.mark_down(f"{type(exc).__name__}: {exc}".strip().rstrip(":"))
        finally:
            backend.last_check = time.time()
