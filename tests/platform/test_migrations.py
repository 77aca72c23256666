"""Migrations at a service's start run on a connection of their own: a step slower
than the pool's command timeout (a request's budget) still completes."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import asyncpg
import pytest
from platform_helpers import platform_env
from tradeplat import migrations
from tradeplat.config import load_settings
from tradeplat.services import create_service_app

SLOW_STEP = ("9999_slow_step", "SELECT pg_sleep(1.5)")


async def test_a_migration_slower_than_the_db_timeout_completes_at_start(
    make_database: Callable[[str], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    dsn = make_database("slowmig")
    shipped = migrations.migration_files()
    monkeypatch.setattr(migrations, "migration_files", lambda: [*shipped, SLOW_STEP])
    settings = load_settings(platform_env(dsn, db_timeout_s="0.5"))
    app = create_service_app("risk", settings)
    async with app.router.lifespan_context(app):
        await asyncio.wait_for(app.state.runtime.migrated.wait(), timeout=15)
    conn = await asyncpg.connect(dsn)
    try:
        versions = [r["version"] for r in await conn.fetch(
            "SELECT version FROM schema_migrations ORDER BY version")]
    finally:
        await conn.close()
    assert versions == [v for v, _ in shipped] + [SLOW_STEP[0]]
