"""Reference data (symbols, tick sizes, halts) is served from memory, and a change
to it shows at once in every service, however it was made."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import asyncpg
from platform_helpers import Platform, new_symbol
from tradeplat.symbols import CACHE_TTL_S

#: Well below the cache's lifetime: a change must not wait for the copy to expire.
SHOWS_WITHIN_S = 3.0
assert SHOWS_WITHIN_S < CACHE_TTL_S


async def _eventually(check: Callable[[], Awaitable[bool]]) -> float:
    started = time.monotonic()
    while not await check():
        assert time.monotonic() - started < SHOWS_WITHIN_S, "the change did not show in time"
        await asyncio.sleep(0.05)
    return time.monotonic() - started


async def _sql(dsn: str, query: str, *args: object) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(query, *args)
    finally:
        await conn.close()


async def test_symbol_list_shows_a_change_made_in_the_database_at_once(
    platform: Platform,
) -> None:
    _, headers = await platform.create_account()

    async def listed() -> dict[str, dict[str, object]]:
        r = await platform.gateway.get("/v1/marketdata/symbols", headers=headers)
        assert r.status_code == 200
        return {s["symbol"]: s for s in r.json()["symbols"]}

    before = await listed()  # the list is now in marketdata's memory
    added = await new_symbol(platform.dsn)  # by hand, not through the API
    assert added not in before

    async def shows_added() -> bool:
        return added in await listed()

    await _eventually(shows_added)
    await _sql(platform.dsn, "UPDATE symbols SET trading_halted = true WHERE symbol = $1", added)

    async def shows_halt() -> bool:
        return (await listed())[added]["trading_halted"] is True

    await _eventually(shows_halt)


async def test_orders_apply_a_changed_tick_size_at_once(platform: Platform) -> None:
    sym = await new_symbol(platform.dsn)
    _, headers = await platform.create_account()
    await platform.order(headers, sym, "BUY", 1, "10.05")  # tick 0.01: accepted
    await _sql(platform.dsn, "UPDATE symbols SET tick_size = 0.1 WHERE symbol = $1", sym)

    async def refused() -> bool:
        body = {"client_order_id": f"tick-{time.monotonic_ns()}", "symbol": sym, "side": "BUY",
                "type": "LIMIT", "quantity": 1, "price": "10.05"}
        r = await platform.gateway.post("/v1/orders", json=body, headers=headers)
        if r.status_code == 201:
            return False
        assert r.status_code == 422 and r.json()["field"] == "price", r.text
        return True

    await _eventually(refused)
