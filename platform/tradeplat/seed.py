"""``tradeplat seed``: demo accounts for load tests (contracts.md §1.3)."""

from __future__ import annotations

from decimal import Decimal

import asyncpg

from tradeplat.accounts import Limits, create_account, rotate_api_key
from tradeplat.config import Settings
from tradeplat.migrations import apply_migrations

#: Advisory lock key serializing concurrent seeds (``'tp-seed!'`` as an int64).
SEED_LOCK_KEY = 0x74702D7365656421


def account_name(index: int) -> str:
    return f"loadtest-{index:04d}"


async def seed_accounts(
    settings: Settings, *, count: int, cash: Decimal, shares: int
) -> dict[str, list[dict[str, str]]]:
    """Create (or reuse, with a new key) ``loadtest-0001``… and return them."""
    conn = await asyncpg.connect(settings.require_database_url(), timeout=10)
    try:
        await apply_migrations(conn)
        # Two seeds at once would both create "loadtest-0001": take turns.
        await conn.execute("SELECT pg_advisory_lock($1)", SEED_LOCK_KEY)
        symbols = [r["symbol"] for r in await conn.fetch("SELECT symbol FROM symbols ORDER BY 1")]
        d = settings.risk_defaults
        limits = Limits(d.max_order_notional, d.max_position, d.max_orders_per_second)
        out = []
        for i in range(1, count + 1):
            name = account_name(i)
            existing = await conn.fetchval(
                "SELECT account_id FROM accounts WHERE name = $1 ORDER BY created_at LIMIT 1", name
            )
            if existing is not None:
                key = await rotate_api_key(conn, existing)
                out.append({"account_id": existing, "name": name, "api_key": key})
                continue
            created = await create_account(
                conn, name=name, cash=cash, positions={s: shares for s in symbols}, limits=limits
            )
            out.append(
                {"account_id": created.account_id, "name": name, "api_key": created.api_key}
            )
        return {"accounts": out}
    finally:
        await conn.close()  # also releases the session's advisory lock
