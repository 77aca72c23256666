"""The pre-trade check is atomic with the order's creation per account: orders
sent at once by one account, together beyond its means, are accepted exactly
as far as they fit — also across two ``orders`` replicas — and the account lock
never outlives the risk call's deadline nor delays an idempotent replay."""

from __future__ import annotations

import asyncio
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import AsyncExitStack

import asyncpg
import httpx
from platform_helpers import ADMIN_KEY, LivePlatform, Platform, db_query, new_symbol, start_inproc
from tradeplat.services.orders.submission import ACCOUNT_LOCK_CLASS


async def test_concurrent_buys_stop_exactly_at_buying_power(platform: Platform) -> None:
    sym = await new_symbol(platform.dsn)
    _, buyer = await platform.create_account(cash="1000")
    answers = await asyncio.gather(
        *(platform.order(buyer, sym, "BUY", 1, "100.00") for _ in range(16))
    )  # 16 × 100 against 1000 of cash: 10 fit
    statuses = [a["status"] for a in answers]
    assert statuses.count("NEW") == 10, statuses
    assert {a["reject_reason"] for a in answers if a["status"] == "REJECTED"} == {"buying_power"}


async def test_concurrent_buys_stop_exactly_at_the_position_limit(platform: Platform) -> None:
    sym = await new_symbol(platform.dsn)
    _, trader = await platform.create_account(max_position=5)
    answers = await asyncio.gather(
        *(platform.order(trader, sym, "BUY", 1, "1.00") for _ in range(12))
    )
    statuses = [a["status"] for a in answers]
    assert statuses.count("NEW") == 5, statuses
    assert {a["reject_reason"] for a in answers if a["status"] == "REJECTED"} == {"max_position"}


def test_two_orders_replicas_stop_exactly_at_buying_power(live: LivePlatform) -> None:
    replicas = live.cluster.replicas["orders"]
    assert len(replicas) == 2
    symbol = asyncio.run(new_symbol(live.dsn))
    account = live.create_account(cash="1000")
    jobs = [(replicas[i % 2].url, {
        "client_order_id": f"atomic-{uuid.uuid4().hex}", "symbol": symbol, "side": "BUY",
        "type": "LIMIT", "quantity": 1, "price": "100.00"}) for i in range(24)]

    def send(job: tuple[str, dict[str, object]]) -> httpx.Response:
        url, body = job
        return httpx.post(url + "/internal/orders", json=body, timeout=15,
                          headers={"X-Account-ID": account.account_id})

    with ThreadPoolExecutor(max_workers=12) as pool:
        answers = list(pool.map(send, jobs))
    assert [r.status_code for r in answers] == [201] * len(jobs)
    statuses = [r.json()["status"] for r in answers]
    assert statuses.count("NEW") == 10, statuses
    stored = db_query(live.dsn, "SELECT status, reject_reason, count(*) AS n FROM orders "
                      "WHERE account_id = $1 GROUP BY 1, 2 ORDER BY 1", account.account_id)
    assert [(r["status"], r["reject_reason"], r["n"]) for r in stored] == [
        ("NEW", None, 10), ("REJECTED", "buying_power", 14)]


async def _account_locks(db: asyncpg.Pool, account_id: str) -> int:
    return await db.fetchval(  # type: ignore[no-any-return]
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND classid = $1 "
        "AND objid = hashtext($2)::oid", ACCOUNT_LOCK_CLASS, account_id,
    )


async def test_a_hung_risk_holds_the_account_lock_no_longer_than_its_deadline(
    platform_dsn: str, db: asyncpg.Pool, black_hole: str
) -> None:
    async with AsyncExitStack() as stack:
        degraded = await start_inproc(platform_dsn, stack, only=("orders", "gateway"),
                                      risk_url=black_hole, call_timeout_s="0.3")
        r = await degraded.gateway.post("/v1/admin/accounts", json={"name": "x", "cash": "100"},
                                        headers={"X-Admin-Key": ADMIN_KEY})
        account_id, headers = r.json()["account_id"], {"X-API-Key": r.json()["api_key"]}

        async def submit() -> tuple[int, float]:
            start = time.monotonic()
            answer = await degraded.gateway.post("/v1/orders", headers=headers, json={
                "client_order_id": uuid.uuid4().hex, "symbol": "AAPL", "side": "BUY",
                "type": "LIMIT", "quantity": 1, "price": "1.00"})
            assert answer.json()["dependency"] == "risk"
            return answer.status_code, time.monotonic() - start

        first, second = await asyncio.gather(submit(), submit())
        # One attempt's deadline is 0.3 s + 0.3 s to connect; the second order
        # waited for the first one's lock, then for its own call.
        assert first[0] == second[0] == 503
        assert max(first[1], second[1]) < 2 * 0.6 + 0.5
        assert await _account_locks(db, account_id) == 0
        assert await db.fetchval(
            "SELECT count(*) FROM orders WHERE account_id = $1", account_id) == 0


async def test_a_replay_is_answered_while_the_account_lock_is_held(
    platform: Platform, db: asyncpg.Pool
) -> None:
    sym = await new_symbol(platform.dsn)
    account_id, buyer = await platform.create_account()
    first = await platform.order(buyer, sym, "BUY", 1, "1.00", client_order_id="held-1")
    async with db.acquire() as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1, hashtext($2))",
                           ACCOUNT_LOCK_CLASS, account_id)
        start = time.monotonic()
        again = await platform.order(buyer, sym, "BUY", 1, "1.00", client_order_id="held-1",
                                     expect=200)
        assert again["order_id"] == first["order_id"]
        assert time.monotonic() - start < 1.0  # the replay never queued for the lock
        # A new order of the account waits for the lock (and gives up with a 503).
        blocked = await platform.gateway.post("/v1/orders", headers=buyer, json={
            "client_order_id": "held-2", "symbol": sym, "side": "BUY", "type": "LIMIT",
            "quantity": 1, "price": "1.00"})
        assert blocked.status_code == 503
    assert (await platform.order(buyer, sym, "BUY", 1, "1.00",
                                 client_order_id="held-2"))["status"] == "NEW"
