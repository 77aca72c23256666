"""Pre-trade checks: denials are stored REJECTED orders (201), throttling is a
429 that creates nothing, and an unreachable risk service means no trading."""

from __future__ import annotations

from contextlib import AsyncExitStack

import asyncpg
import httpx
from platform_helpers import ADMIN_KEY, Platform, new_symbol, start_inproc


async def test_order_above_max_notional_is_rejected_with_reason(platform: Platform) -> None:
    sym = await new_symbol(platform.dsn)
    _, buyer = await platform.create_account(max_order_notional="1000.00")
    rejected = await platform.order(buyer, sym, "BUY", 11, "100.00")
    assert rejected["status"] == "REJECTED" and rejected["reject_reason"] == "max_notional"
    assert (await platform.order(buyer, sym, "BUY", 10, "100.00"))["status"] == "NEW"


async def test_market_buy_is_valued_at_its_protection_price(platform: Platform) -> None:
    sym = await new_symbol(platform.dsn)  # last 100.00, collar 10 %: worst price 110.00
    _, buyer = await platform.create_account(cash="1050")
    denied = await platform.order(buyer, sym, "BUY", 10)  # 1000 at last, up to 1100 at worst
    assert denied["status"] == "REJECTED" and denied["reject_reason"] == "buying_power"
    assert (await platform.order(buyer, sym, "BUY", 9))["status"] == "CANCELED"  # empty book


async def test_buying_power_counts_open_buy_orders(platform: Platform) -> None:
    sym = await new_symbol(platform.dsn)
    _, buyer = await platform.create_account(cash="1000")
    assert (await platform.order(buyer, sym, "BUY", 6, "100.00"))["status"] == "NEW"
    denied = await platform.order(buyer, sym, "BUY", 5, "100.00")
    assert denied["reject_reason"] == "buying_power"
    assert (await platform.order(buyer, sym, "BUY", 4, "100.00"))["status"] == "NEW"


async def test_position_limit_includes_open_orders(platform: Platform) -> None:
    sym = await new_symbol(platform.dsn)
    _, trader = await platform.create_account(positions={sym: 5}, max_position=10)
    assert (await platform.order(trader, sym, "BUY", 5, "1.00"))["status"] == "NEW"
    assert (await platform.order(trader, sym, "BUY", 1, "1.00"))["reject_reason"] == "max_position"
    # Selling 15 of 5 held would leave −10: allowed; one more would not.
    assert (await platform.order(trader, sym, "SELL", 15, "9.00"))["status"] == "NEW"
    assert (await platform.order(trader, sym, "SELL", 1, "9.00"))["reject_reason"] == (
        "max_position"
    )


async def test_halts_reject_orders_until_lifted(platform: Platform) -> None:
    sym = await new_symbol(platform.dsn)
    _, buyer = await platform.create_account()
    admin = {"X-Admin-Key": ADMIN_KEY}
    r = await platform.gateway.put(f"/v1/admin/symbols/{sym}/halt", json={"halted": True},
                                   headers=admin)
    assert r.status_code == 200 and r.json() == {"halted": True}
    assert (await platform.order(buyer, sym, "BUY", 1, "1.00"))["reject_reason"] == (
        "symbol_halted"
    )
    await platform.gateway.put(f"/v1/admin/symbols/{sym}/halt", json={"halted": False},
                               headers=admin)
    r = await platform.gateway.put("/v1/admin/halt", json={"halted": True}, headers=admin)
    assert r.json() == {"halted": True}
    try:
        assert (await platform.order(buyer, sym, "BUY", 1, "1.00"))["reject_reason"] == (
            "trading_halted"
        )
    finally:
        await platform.gateway.put("/v1/admin/halt", json={"halted": False}, headers=admin)
    assert (await platform.order(buyer, sym, "BUY", 1, "1.00"))["status"] == "NEW"


async def test_admin_routes_need_the_admin_key(platform: Platform) -> None:
    r = await platform.gateway.put("/v1/admin/halt", json={"halted": True})
    assert r.status_code == 401 and r.json()["field"] == "X-Admin-Key"
    r = await platform.gateway.put("/v1/admin/halt", json={"halted": True},
                                   headers={"X-Admin-Key": "wrong"})
    assert r.status_code == 401


async def test_rate_limit_answers_429_and_creates_no_order(
    platform: Platform, db: asyncpg.Pool
) -> None:
    sym = await new_symbol(platform.dsn)
    account_id, buyer = await platform.create_account(max_orders_per_second=3)
    answers = [await platform.order(buyer, sym, "BUY", 1, "1.00", expect=None)
               for _ in range(3)]
    assert all(a["status"] == "NEW" for a in answers)
    r = await platform.gateway.post(
        "/v1/orders", headers=buyer,
        json={"client_order_id": "throttled", "symbol": sym, "side": "BUY", "type": "LIMIT",
              "quantity": 1, "price": "1.00"},
    )
    assert r.status_code == 429
    assert int(r.headers["Retry-After"]) >= 1
    assert await db.fetchval(
        "SELECT count(*) FROM orders WHERE account_id = $1 AND client_order_id = 'throttled'",
        account_id,
    ) == 0


async def test_risk_unreachable_fails_closed_with_503(platform_dsn: str, db: asyncpg.Pool) -> None:
    # orders and gateway only: risk's URL points at a port nobody listens on.
    async with AsyncExitStack() as stack:
        degraded = await start_inproc(platform_dsn, stack, only=("orders", "gateway"),
                                      risk_url="http://127.0.0.1:9", call_timeout_s="0.5")
        r = await degraded.gateway.post(
            "/v1/admin/accounts", json={"name": "x", "cash": "100"},
            headers={"X-Admin-Key": ADMIN_KEY},
        )
        headers = {"X-API-Key": r.json()["api_key"]}
        r = await degraded.gateway.post(
            "/v1/orders", headers=headers,
            json={"client_order_id": "unchecked", "symbol": "AAPL", "side": "BUY",
                  "type": "LIMIT", "quantity": 1, "price": "1.00"},
        )
        assert r.status_code == 503
        assert r.json()["dependency"] == "risk"
        assert await db.fetchval(
            "SELECT count(*) FROM orders WHERE client_order_id = 'unchecked'"
        ) == 0
        # The check never left (connection refused), so it was safely retried once.
        transport = httpx.ASGITransport(app=degraded.apps["orders"])
        async with httpx.AsyncClient(transport=transport, base_url="http://orders") as orders:
            text = (await orders.get("/metrics")).text
        assert 'tradeplat_upstream_retries_total{dependency="risk"} 1.0' in text


async def test_risk_denials_and_orders_show_in_metrics(platform: Platform) -> None:
    sym = await new_symbol(platform.dsn)
    _, buyer = await platform.create_account(max_order_notional="1")
    await platform.order(buyer, sym, "BUY", 5, "1.00")
    transport = httpx.ASGITransport(app=platform.apps["risk"])
    async with httpx.AsyncClient(transport=transport, base_url="http://risk") as risk:
        text = (await risk.get("/metrics")).text
    assert 'tradeplat_risk_denials_total{reason="max_notional"}' in text
    transport = httpx.ASGITransport(app=platform.apps["orders"])
    async with httpx.AsyncClient(transport=transport, base_url="http://orders") as orders:
        text = (await orders.get("/metrics")).text
    assert 'tradeplat_orders_total{status="REJECTED",type="LIMIT"}' in text
    assert 'http_requests_total{method="POST",route="/internal/orders",status="201"}' in text
