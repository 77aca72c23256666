"""The per-replica runtime: settings, database, clients, metrics, background tasks.

One ``Runtime`` per app, created by ``create_app`` and reachable from handlers
through the ``RuntimeDep`` dependency alias (``web/deps.py``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from tradeplat.config import Settings
from tradeplat.db import Database
from tradeplat.migrations import migrate_dsn
from tradeplat.observability.metrics import Metrics
from tradeplat.web.clients import ServiceClient

log = logging.getLogger("tradeplat.runtime")

BackgroundTask = Callable[["Runtime"], Awaitable[None]]


@dataclass
class Runtime:
    service: str
    settings: Settings
    metrics: Metrics
    db: Database
    clients: dict[str, ServiceClient] = field(default_factory=dict)
    state: dict[str, Any] = field(default_factory=dict)
    migrated: asyncio.Event = field(default_factory=asyncio.Event)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def client(self, name: str) -> ServiceClient:
        return self.clients[name]

    def spawn(self, coro: Awaitable[None], name: str) -> None:
        task = asyncio.ensure_future(coro)
        task.set_name(f"{self.service}:{name}")
        task.add_done_callback(_log_task_end)
        self._tasks.append(task)

    async def wait_database(self) -> None:
        await self.migrated.wait()

    async def _connect_and_migrate(self) -> None:
        async def migrate() -> None:
            # A dedicated connection: the pool's command timeout (a request's
            # budget) must not cap a migration, which may rewrite a big table.
            await migrate_dsn(self.db.dsn, timeout_s=self.db.timeout_s)

        await self.db.connect_forever(migrate)
        self.migrated.set()
        log.info("database connected and migrated")

    async def start(self, background: list[tuple[str, BackgroundTask]]) -> None:
        self.spawn(self._connect_and_migrate(), "connect")
        self.spawn(_probe_dependencies(self), "dependency-probe")
        for name, task in background:
            self.spawn(task(self), name)

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        await asyncio.gather(*(c.aclose() for c in self.clients.values()), return_exceptions=True)
        await self.db.close()


def _log_task_end(task: asyncio.Task[None]) -> None:
    if task.cancelled():
        return
    exc = task.exception()
    if exc is not None:
        log.error("background task %s died", task.get_name(), exc_info=exc)


async def _probe_dependencies(rt: Runtime, interval_s: float = 2.0) -> None:
    """Keep ``tradeplat_ready`` and ``tradeplat_dependency_up`` current even when
    nobody polls ``/readyz`` (the database, and the services this one calls)."""
    while True:
        db_up = rt.migrated.is_set() and await rt.db.ping(
            timeout_s=min(1.0, rt.settings.db_timeout_s)
        )
        rt.metrics.dependency_up.labels("database").set(1 if db_up else 0)
        rt.metrics.ready.set(1 if db_up else 0)
        for name, client in rt.clients.items():
            up = await client.healthy(timeout_s=min(1.0, rt.settings.call_timeout_s))
            rt.metrics.dependency_up.labels(name).set(1 if up else 0)
        await asyncio.sleep(interval_s)


def build_runtime(
    service: str,
    settings: Settings,
    *,
    dependencies: tuple[str, ...] = (),
    transports: Mapping[str, httpx.AsyncBaseTransport] | None = None,
) -> Runtime:
    from tradeplat import __version__

    metrics = Metrics(service, settings.replica, __version__)
    db = Database(
        settings.require_database_url(),
        timeout_s=settings.db_timeout_s,
        pool_max=settings.db_pool_max,
        application_name=f"tradeplat-{service}-{settings.replica}",
    )
    transports = transports or {}
    clients = {
        dep: ServiceClient(
            dep,
            getattr(settings, f"{dep}_url"),
            timeout_s=settings.call_timeout_s,
            metrics=metrics,
            max_connections=settings.call_pool_max,
            transport=transports.get(dep),
        )
        for dep in dependencies
    }
    return Runtime(service=service, settings=settings, metrics=metrics, db=db, clients=clients)
