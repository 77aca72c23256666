"""The per-account rate limit holds whatever the number of risk replicas: the
token bucket lives in PostgreSQL, not in each replica's memory."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack

import httpx
from platform_helpers import Platform, new_symbol, start_inproc


async def test_two_risk_replicas_share_one_bucket_per_account(platform: Platform) -> None:
    sym = await new_symbol(platform.dsn)
    account_id, _ = await platform.create_account(max_orders_per_second=3)
    check = {"account_id": account_id, "symbol": sym, "side": "BUY", "type": "LIMIT",
             "quantity": 1, "price": "1.00"}
    async with AsyncExitStack() as stack:
        replicas = []
        for _ in range(2):
            risk = await start_inproc(platform.dsn, stack, only=("risk",))
            replicas.append(await stack.enter_async_context(httpx.AsyncClient(
                transport=httpx.ASGITransport(app=risk.apps["risk"]), base_url="http://risk")))
        answers = await asyncio.gather(
            *(replicas[i % 2].post("/internal/checks", json=check) for i in range(8))
        )
        codes = sorted(r.status_code for r in answers)
        assert codes == [200] * 3 + [429] * 5, codes
        denied = next(r for r in answers if r.status_code == 429)
        assert denied.headers["Retry-After"] == "1"
        wait_s = denied.json()["retry_after_s"]
        assert 0 < wait_s <= 1 / 3 + 0.05

        # The bucket refills at the account's rate, on either replica.
        await asyncio.sleep(wait_s + 0.05)
        assert (await replicas[1].post("/internal/checks", json=check)).status_code == 200
        assert (await replicas[0].post("/internal/checks", json=check)).status_code == 429


async def test_a_changed_limit_applies_at_the_next_check(platform: Platform) -> None:
    sym = await new_symbol(platform.dsn)
    account_id, buyer = await platform.create_account(max_orders_per_second=1)
    assert (await platform.order(buyer, sym, "BUY", 1, "1.00"))["status"] == "NEW"
    await platform.order(buyer, sym, "BUY", 1, "1.00", expect=429)
    conn_pool = platform.apps["risk"].state.runtime.db
    await conn_pool.execute(
        "UPDATE risk_limits SET max_orders_per_second = 1000 WHERE account_id = $1", account_id
    )
    await asyncio.sleep(0.01)  # 1000/s: a token every millisecond
    assert (await platform.order(buyer, sym, "BUY", 1, "1.00"))["status"] == "NEW"
