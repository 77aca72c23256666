"""Idempotent submission: a retried order returns the original, never a second."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
from platform_helpers import Platform, new_symbol


async def test_concurrent_retries_create_exactly_one_order(
    platform: Platform, db: asyncpg.Pool
) -> None:
    sym = await new_symbol(platform.dsn)
    account_id, buyer = await platform.create_account()
    body = {"client_order_id": "retry-" + uuid.uuid4().hex, "symbol": sym, "side": "BUY",
            "type": "LIMIT", "quantity": 7, "price": "12.34"}

    answers = await asyncio.gather(
        *(platform.gateway.post("/v1/orders", json=body, headers=buyer) for _ in range(12))
    )

    codes = sorted(r.status_code for r in answers)
    assert codes == [200] * 11 + [201]
    assert len({r.json()["order_id"] for r in answers}) == 1
    replays = [r for r in answers if r.status_code == 200]
    assert all(r.headers["Idempotent-Replayed"] == "true" for r in replays)
    stored = await db.fetchval(
        "SELECT count(*) FROM orders WHERE account_id = $1 AND client_order_id = $2",
        account_id, body["client_order_id"],
    )
    assert stored == 1


async def test_retry_after_fill_returns_the_original_state_without_trading_again(
    platform: Platform, db: asyncpg.Pool
) -> None:
    sym = await new_symbol(platform.dsn)
    _, seller = await platform.create_account(positions={sym: 100})
    _, buyer = await platform.create_account()
    await platform.order(seller, sym, "SELL", 20, "10.00")
    first = await platform.order(buyer, sym, "BUY", 5, "10.00", client_order_id="buy-once")
    again = await platform.order(buyer, sym, "BUY", 5, "10.00", client_order_id="buy-once",
                                 expect=200)
    assert again["order_id"] == first["order_id"] and again["status"] == "FILLED"
    trades = await db.fetchval("SELECT count(*) FROM trades WHERE symbol = $1", sym)
    assert trades == 1


async def test_same_id_with_a_different_body_is_a_conflict(platform: Platform) -> None:
    sym = await new_symbol(platform.dsn)
    _, buyer = await platform.create_account()
    await platform.order(buyer, sym, "BUY", 5, "10.00", client_order_id="dup")
    r = await platform.gateway.post(
        "/v1/orders", headers=buyer,
        json={"client_order_id": "dup", "symbol": sym, "side": "BUY", "type": "LIMIT",
              "quantity": 6, "price": "10.00"},
    )
    assert r.status_code == 409
    assert r.json()["field"] == "client_order_id"


async def test_idempotency_key_header_stands_for_client_order_id(platform: Platform) -> None:
    sym = await new_symbol(platform.dsn)
    _, buyer = await platform.create_account()
    body = {"symbol": sym, "side": "BUY", "type": "LIMIT", "quantity": 1, "price": "5.00"}
    headers = {**buyer, "Idempotency-Key": "key-" + uuid.uuid4().hex}
    first = await platform.gateway.post("/v1/orders", json=body, headers=headers)
    second = await platform.gateway.post("/v1/orders", json=body, headers=headers)
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["client_order_id"] == headers["Idempotency-Key"]
    assert second.json()["order_id"] == first.json()["order_id"]


async def test_missing_client_order_id_and_key_is_named(platform: Platform) -> None:
    _, buyer = await platform.create_account()
    r = await platform.gateway.post(
        "/v1/orders", headers=buyer,
        json={"symbol": "AAPL", "side": "BUY", "type": "LIMIT", "quantity": 1, "price": "5.00"},
    )
    assert r.status_code == 422 and r.json()["field"] == "client_order_id"


async def test_same_client_order_id_in_two_accounts_are_two_orders(platform: Platform) -> None:
    sym = await new_symbol(platform.dsn)
    _, a = await platform.create_account()
    _, b = await platform.create_account()
    oa = await platform.order(a, sym, "BUY", 1, "5.00", client_order_id="shared")
    ob = await platform.order(b, sym, "BUY", 1, "5.00", client_order_id="shared")
    assert oa["order_id"] != ob["order_id"]
