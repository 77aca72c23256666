"""The asyncpg pool of a replica: short timeouts, recovery without restart.

A service starts serving before its database answers: ``Database.connect_forever``
keeps trying in the background (readiness stays false meanwhile). Once the pool
exists, a database outage only breaks the connections in it; asyncpg drops a
broken connection when it is released and opens a new one on the next acquire,
so the pool heals by itself when the database comes back. Every session runs
with ``synchronous_commit=on``: a COMMIT answers once it is flushed to the WAL,
so what the platform acknowledged survives a crash of the database. Every database error
that means "not now" is mapped to ``DatabaseUnavailable`` (HTTP 503), or to
``DeadlineExceeded`` (also 503) once the caller's deadline has passed: waiting
for a pooled connection never outlasts that deadline (``tradeplat.deadline``), and
the one-statement helpers (``fetch``, ``fetchval``, ...) are cut at it, the
statement canceled on the server.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import asyncpg

from tradeplat import deadline
from tradeplat.errors import DatabaseUnavailable, DeadlineExceeded, TradeplatError

log = logging.getLogger("tradeplat.db")

# SQLSTATE classes that mean "the database cannot serve right now", not a bug:
# 08 connection exception, 53 insufficient resources, 57 operator intervention
# (shutdown, statement timeout via 57014), 40 transaction rollback (deadlock,
# serialization failure: the caller may retry), 55P03 lock not available.
_TRANSIENT_CLASSES = ("08", "53", "57", "40")
_TRANSIENT_STATES = {"55P03"}


def is_transient(exc: BaseException) -> bool:
    if isinstance(exc, asyncpg.PostgresError):
        state = getattr(exc, "sqlstate", None) or ""
        return state[:2] in _TRANSIENT_CLASSES or state in _TRANSIENT_STATES
    return isinstance(
        exc,
        asyncpg.InterfaceError | asyncpg.PostgresConnectionError | OSError | TimeoutError
        # a connection whose server died mid-operation: "another operation is in progress"
        | asyncpg.exceptions.InternalClientError,
    )


@asynccontextmanager
async def unavailable_on_outage() -> AsyncIterator[None]:
    """Turn a transient database error into ``DatabaseUnavailable``."""
    try:
        yield
    except TradeplatError:
        raise
    except Exception as exc:
        if is_transient(exc):
            left = deadline.remaining()
            if left is not None and left <= 0:
                raise DeadlineExceeded(
                    f"the caller's deadline passed while waiting for the database "
                    f"({type(exc).__name__})", dependency="database",
                ) from exc
            raise DatabaseUnavailable(f"database: {type(exc).__name__}: {exc}") from exc
        raise


async def _keep_session(conn: asyncpg.Connection) -> None:
    """The pool's reset of a released connection: nothing beyond what asyncpg always
    does (roll back an open transaction, drop listeners).

    asyncpg's default (``RESET ALL; UNLISTEN *; CLOSE ALL; pg_advisory_unlock_all()``)
    is one more round trip per use, and pooled connections never hold session state:
    settings are transaction-local (``set_config(..., true)``), advisory locks are
    transaction locks, ``LISTEN`` runs on connections of its own (``asyncpg.connect``)
    and no cursor outlives a transaction."""


class Database:
    """A lazily created pool with the timeouts of ``TRADEPLAT_DB_TIMEOUT_S``."""

    def __init__(
        self, dsn: str, *, timeout_s: float = 2.0, pool_max: int = 10, application_name: str = ""
    ) -> None:
        self.dsn = dsn
        self.timeout_s = timeout_s
        self.pool_max = pool_max
        self.application_name = application_name[:63]
        self._pool: asyncpg.Pool | None = None

    @property
    def connected(self) -> bool:
        return self._pool is not None

    async def connect(self) -> None:
        """Create the pool (raises when the database does not answer)."""
        if self._pool is not None:
            return
        timeout_ms = str(int(self.timeout_s * 1000))
        self._pool = await asyncpg.create_pool(
            self.dsn,
            min_size=1,
            max_size=self.pool_max,
            timeout=self.timeout_s,  # connect timeout
            command_timeout=self.timeout_s,
            max_inactive_connection_lifetime=60,
            reset=_keep_session,
            server_settings={
                "application_name": self.application_name or "tradeplat",
                # an answered COMMIT is durable whatever the server's default: an order
                # is acknowledged only once its transaction is on disk
                "synchronous_commit": "on",
                "statement_timeout": timeout_ms,
                "lock_timeout": timeout_ms,
                "idle_in_transaction_session_timeout": str(int(self.timeout_s * 5000)),
            },
        )
        await self._warn_when_not_durable()

    async def _warn_when_not_durable(self) -> None:
        """Say so when the server itself cannot make a commit durable (``fsync=off``)."""
        assert self._pool is not None
        try:
            fsync = await self._pool.fetchval("SHOW fsync", timeout=self.timeout_s)
        except Exception:  # the pool heals later; this is a warning only
            return
        if fsync != "on":
            log.warning("the database runs with fsync=%s: an acknowledged order may be lost "
                        "when the database host crashes", fsync)

    async def connect_forever(
        self, on_connected: Callable[[], Awaitable[None]] | None = None, *, max_delay_s: float = 2.0
    ) -> None:
        """Retry ``connect`` (then ``on_connected``) with backoff until both succeed."""
        delay = 0.1
        while True:
            try:
                await self.connect()
                if on_connected is not None:
                    await on_connected()
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("database not ready, retrying", extra={"error": repr(exc)[:300]})
                await asyncio.sleep(delay)
                delay = min(max_delay_s, delay * 2)

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            try:
                await asyncio.wait_for(pool.close(), timeout=self.timeout_s * 2)
            except (TimeoutError, Exception):
                pool.terminate()

    def _require_pool(self) -> asyncpg.Pool:
        if self._pool is None:
            raise DatabaseUnavailable("the database has not answered since this replica started")
        return self._pool

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[asyncpg.Connection]:
        pool = self._require_pool()
        deadline.check("database")
        async with unavailable_on_outage():
            async with pool.acquire(timeout=deadline.bound(self.timeout_s)) as conn:
                try:
                    yield conn
                except asyncpg.exceptions.InternalClientError:
                    conn.terminate()  # its protocol state is lost: never reuse it
                    raise

    @asynccontextmanager
    async def transaction(self, **options: Any) -> AsyncIterator[asyncpg.Connection]:
        async with self.connection() as conn, conn.transaction(**options):
            yield conn

    async def fetch(self, query: str, *args: Any) -> list[asyncpg.Record]:
        async with deadline.enforced("database"), self.connection() as conn:
            return await conn.fetch(query, *args)

    async def fetchrow(self, query: str, *args: Any) -> asyncpg.Record | None:
        async with deadline.enforced("database"), self.connection() as conn:
            return await conn.fetchrow(query, *args)

    async def fetchval(self, query: str, *args: Any) -> Any:
        async with deadline.enforced("database"), self.connection() as conn:
            return await conn.fetchval(query, *args)

    async def execute(self, query: str, *args: Any) -> str:
        async with deadline.enforced("database"), self.connection() as conn:
            return await conn.execute(query, *args)

    async def ping(self, timeout_s: float | None = None) -> bool:
        """True when a ``SELECT 1`` answers within the timeout."""
        if self._pool is None:
            return False
        timeout = timeout_s or self.timeout_s
        try:
            async with asyncio.timeout(timeout):
                async with self._pool.acquire(timeout=timeout) as conn:
                    await conn.fetchval("SELECT 1", timeout=timeout)
            return True
        except asyncio.CancelledError:
            raise
        except Exception:
            return False
