"""Fixtures of the platform tests: the six services in-process on a migrated
database (httpx ASGITransport, lifespans and background tasks running) and the
six services as real processes; one of each per session. Tests isolate
themselves with fresh accounts and symbols (``new_symbol``)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AsyncExitStack
from pathlib import Path

import asyncpg
import pytest
import pytest_asyncio
from platform_cluster import ALL_SERVICES, Cluster
from platform_helpers import ADMIN_KEY, LivePlatform, Platform, start_inproc
from tradeplat.migrations import migrate_dsn

from tradestorm.local.postgres import PostgresServer, free_port


@pytest.fixture(scope="session")
def platform_dsn(make_database: Callable[[str], str]) -> str:
    dsn = make_database("plat")
    asyncio.run(migrate_dsn(dsn))
    return dsn


@pytest_asyncio.fixture(scope="session")
async def platform(platform_dsn: str) -> AsyncIterator[Platform]:
    async with AsyncExitStack() as stack:
        yield await start_inproc(platform_dsn, stack)


@pytest_asyncio.fixture(scope="session")
async def db(platform_dsn: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await asyncpg.create_pool(platform_dsn, min_size=1, max_size=4)
    try:
        yield pool
    finally:
        await pool.close()


@pytest.fixture(scope="session")
def live(make_database: Callable[[str], str], tmp_path_factory: pytest.TempPathFactory
         ) -> Iterator[LivePlatform]:
    """All six services as processes (two ``orders`` and two ``portfolio`` replicas; the
    gateway calls the first of each)."""
    dsn = make_database("live")
    asyncio.run(migrate_dsn(dsn))
    replicas = {s: 1 for s in ALL_SERVICES}
    replicas["orders"] = 2
    replicas["portfolio"] = 2  # two relays drain one outbox side by side
    cluster = Cluster(dsn, tmp_path_factory.mktemp("live"), replicas_per_service=replicas,
                      admin_key=ADMIN_KEY, log_level="INFO")
    try:
        cluster.start(timeout_s=90)
        yield LivePlatform(cluster, dsn)
    finally:
        cluster.stop()


@pytest_asyncio.fixture
async def black_hole() -> AsyncIterator[str]:
    """A real TCP server that reads requests and never answers."""
    held: list[asyncio.StreamWriter] = []

    async def swallow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)
        while await reader.read(65536):
            pass

    server = await asyncio.start_server(swallow, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        for writer in held:
            writer.close()
        server.close()
        await server.wait_closed()


@pytest.fixture
def own_postgres(tmp_path: Path) -> Iterator[PostgresServer]:
    """A PostgreSQL of the test's own (to stop, kill and restart), on a free port."""
    server = PostgresServer(data_dir=tmp_path / "data", port=free_port(),
                            log_file=tmp_path / "pg.log", database="postgres")
    server.start()
    try:
        yield server
    finally:
        server.stop(mode="immediate")
