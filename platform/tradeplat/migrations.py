"""Schema migrations, applied once under a PostgreSQL advisory lock.

Every replica of every service calls ``apply_migrations`` at start; the lock
makes the first one apply what is missing while the others wait, then find
nothing left to do. Files are ``migrations/NNNN_name.sql``, applied in name
order, each in its own transaction, and recorded in ``schema_migrations``.
"""

from __future__ import annotations

import logging
from decimal import Decimal
from importlib import resources

import asyncpg

log = logging.getLogger("tradeplat.migrations")

#: Arbitrary constant key of the advisory lock (``'tradeplat'`` as an int64).
MIGRATION_LOCK_KEY = 0x7472616465706C61

#: Symbols every fresh database starts with (contracts.md §1.1).
DEFAULT_SYMBOLS: dict[str, Decimal] = {
    "AAPL": Decimal("190.0000"),
    "MSFT": Decimal("410.0000"),
    "GOOG": Decimal("160.0000"),
    "AMZN": Decimal("180.0000"),
    "TSLA": Decimal("240.0000"),
}


def migration_files() -> list[tuple[str, str]]:
    """(version, sql) of every migration shipped with the package, in order."""
    folder = resources.files("tradeplat") / "migrations"
    found = sorted(
        (entry.name, entry.read_text(encoding="utf-8"))
        for entry in folder.iterdir()
        if entry.name.endswith(".sql")
    )
    return [(name.removesuffix(".sql"), sql) for name, sql in found]


async def apply_migrations(conn: asyncpg.Connection, *, lock_timeout_s: float = 60) -> list[str]:
    """Apply the missing migrations and seed default symbols; return versions applied."""
    applied: list[str] = []
    # Session-level lock on this connection: wait for another replica to finish.
    await conn.execute(f"SET lock_timeout = '{int(lock_timeout_s * 1000)}ms'")
    await conn.execute("SET statement_timeout = 0")
    await conn.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK_KEY)
    try:
        await conn.execute(
            """CREATE TABLE IF NOT EXISTS schema_migrations (
                   version    text        PRIMARY KEY,
                   applied_at timestamptz NOT NULL DEFAULT clock_timestamp())"""
        )
        done = {r["version"] for r in await conn.fetch("SELECT version FROM schema_migrations")}
        for version, sql in migration_files():
            if version in done:
                continue
            async with conn.transaction():
                await conn.execute(sql)
                await conn.execute("INSERT INTO schema_migrations (version) VALUES ($1)", version)
            log.info("migration applied", extra={"version": version})
            applied.append(version)
        await conn.executemany(
            "INSERT INTO symbols (symbol, reference_price) VALUES ($1, $2) "
            "ON CONFLICT (symbol) DO NOTHING",
            list(DEFAULT_SYMBOLS.items()),
        )
        await conn.executemany(
            "INSERT INTO quotes (symbol, bid, ask, last) VALUES ($1, $2, $2, $2) "
            "ON CONFLICT (symbol) DO NOTHING",
            list(DEFAULT_SYMBOLS.items()),
        )
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK_KEY)
        await conn.execute("RESET lock_timeout")
        await conn.execute("RESET statement_timeout")
    return applied


async def migrate_dsn(dsn: str, *, timeout_s: float = 10) -> list[str]:
    """Connect to ``dsn``, apply migrations, disconnect."""
    conn = await asyncpg.connect(dsn, timeout=timeout_s)
    try:
        return await apply_migrations(conn)
    finally:
        await conn.close()
