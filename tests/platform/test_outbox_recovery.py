"""A portfolio outage delays fills reaching the ledger but never loses one."""

from __future__ import annotations

import asyncio
import json
import signal
import uuid
from decimal import Decimal

import asyncpg
import httpx
from platform_helpers import LivePlatform, Platform, db_query, new_symbol, wait_until

SYMBOL = "AMZN"


def _metric(url: str, name: str) -> float:
    for line in httpx.get(url + "/metrics", timeout=5).text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"{name} missing from {url}/metrics")


def test_trades_made_while_portfolio_is_down_reach_the_ledger_when_it_returns(
    live: LivePlatform,
) -> None:
    cluster = live.cluster
    seller = live.create_account(positions={SYMBOL: 1000})
    buyer = live.create_account(cash="100000")
    for portfolio in cluster.replicas["portfolio"]:  # every relay down, by a crash
        cluster.stop_replica(portfolio, signal.SIGKILL)
    try:
        with httpx.Client(base_url=live.gateway_url, timeout=10) as gw:
            for i in range(5):
                r = gw.post("/v1/orders", headers=seller.headers, json={
                    "client_order_id": f"down-s{i}", "symbol": SYMBOL, "side": "SELL",
                    "type": "LIMIT", "quantity": 10, "price": "180.00"})
                assert r.status_code == 201, r.text
                r = gw.post("/v1/orders", headers=buyer.headers, json={
                    "client_order_id": f"down-b{i}", "symbol": SYMBOL, "side": "BUY",
                    "type": "MARKET", "quantity": 10})
                assert r.status_code == 201 and r.json()["status"] == "FILLED", r.text
            # Trading went on; the ledger has not seen the fills yet.
            pending = db_query(live.dsn, "SELECT count(*) AS n FROM outbox WHERE delivered_at IS "
                               "NULL AND payload->>'buyer_account_id' = $1", buyer.account_id)
            assert pending[0]["n"] == 5
            orders_url = cluster.url("orders")
            wait_until(lambda: _metric(orders_url, "tradeplat_outbox_pending") >= 5, 10,
                       "orders exports the pending outbox events")
            assert _metric(orders_url, "tradeplat_outbox_lag_seconds") > 0
            r = gw.get("/v1/portfolio", headers=buyer.headers)
            assert r.status_code == 503  # portfolio is down: said so, not a 500
    finally:
        restarted = [cluster.start_replica("portfolio", i)
                     for i in range(len(cluster.replicas["portfolio"]))]
        cluster.wait_ready(restarted, timeout_s=60)

    def delivered() -> bool:
        rows = db_query(live.dsn, "SELECT count(*) AS n FROM outbox WHERE delivered_at IS NULL")
        return rows[0]["n"] == 0

    wait_until(delivered, 15, "the restarted portfolio drains the outbox")
    with httpx.Client(base_url=live.gateway_url, timeout=10) as gw:
        book = gw.get("/v1/portfolio", headers=buyer.headers).json()
    assert book["pending_trades"] == 0
    assert Decimal(book["cash"]) == Decimal("100000") - 50 * Decimal("180")
    assert {p["symbol"]: p["quantity"] for p in book["positions"]} == {SYMBOL: 50}
    legs = db_query(live.dsn, "SELECT count(*) AS n FROM ledger_entries WHERE kind = 'TRADE' "
                    "AND account_id = $1", buyer.account_id)
    assert legs[0]["n"] == 10  # cash and shares, once per trade: nothing applied twice


async def test_an_unreadable_outbox_event_is_set_aside_without_blocking_the_others(
    platform: Platform, db: asyncpg.Pool
) -> None:
    poison_id = await db.fetchval(
        "INSERT INTO outbox (topic, aggregate_id, payload) VALUES ('trade', $1, $2::jsonb) "
        "RETURNING event_id", uuid.uuid4(), json.dumps({"trade_id": "not-a-uuid"}))
    try:
        sym = await new_symbol(platform.dsn)
        _, seller = await platform.create_account(positions={sym: 10})
        buyer_id, buyer = await platform.create_account(cash="1000")
        await platform.order(seller, sym, "SELL", 2, "10.00")
        await platform.order(buyer, sym, "BUY", 2, "10.00")
        for _ in range(200):  # the trade after the poison event still reaches the ledger
            legs = await db.fetchval("SELECT count(*) FROM ledger_entries WHERE account_id = $1 "
                                     "AND kind = 'TRADE'", buyer_id)
            if legs == 2:
                break
            await asyncio.sleep(0.05)
        assert legs == 2
        assert await db.fetchval("SELECT delivered_at FROM outbox WHERE event_id = $1",
                                 poison_id) is None  # kept, visible in the lag, not dropped
        transport = httpx.ASGITransport(app=platform.apps["portfolio"])
        async with httpx.AsyncClient(transport=transport, base_url="http://p") as client:
            assert "tradeplat_outbox_poison_events 1.0" in (await client.get("/metrics")).text
    finally:
        await db.execute("DELETE FROM outbox WHERE event_id = $1", poison_id)
