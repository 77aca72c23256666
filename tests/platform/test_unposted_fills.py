"""Buying power and positions count trades not yet in the ledger: while
portfolio's relay is not running, cash spent through fills cannot be spent
again, and risk's figures are the same before and after the relay posts them."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from contextlib import AsyncExitStack
from decimal import Decimal

import asyncpg
from platform_helpers import new_symbol, start_inproc
from tradeplat.config import RiskDefaults
from tradeplat.migrations import migrate_dsn
from tradeplat.schemas import RiskCheck
from tradeplat.services.portfolio.ledger import deliver_batch
from tradeplat.services.risk.checks import load_exposure


async def _exposure(dsn: str, account_id: str, symbol: str) -> tuple[Decimal, int]:
    conn = await asyncpg.connect(dsn)
    try:
        x = await load_exposure(conn, RiskCheck(
            account_id=account_id, symbol=symbol, side="BUY", type="LIMIT", quantity=1,
            price=Decimal("1.00")), RiskDefaults())
    finally:
        await conn.close()
    return x.cash, x.position


async def test_fills_waiting_for_the_relay_are_not_spent_twice(
    make_database: Callable[[str], str]
) -> None:
    dsn = make_database("unposted")  # no portfolio relay drains this outbox
    await migrate_dsn(dsn)
    async with AsyncExitStack() as stack:
        plat = await start_inproc(dsn, stack, only=("risk", "orders", "gateway"))
        sym, other = await new_symbol(dsn), await new_symbol(dsn)
        seller_id, seller = await plat.create_account(cash="0", positions={sym: 10})
        buyer_id, buyer = await plat.create_account(cash="1000", max_position=10)

        await plat.order(seller, sym, "SELL", 10, "100.00")
        assert (await plat.order(buyer, sym, "BUY", 10, "100.00"))["status"] == "FILLED"
        # The balances have not moved yet; the fills are in the outbox.
        assert await _exposure(dsn, buyer_id, sym) == (Decimal("0"), 10)
        assert await _exposure(dsn, seller_id, sym) == (Decimal("1000"), 0)

        denied = await plat.order(buyer, other, "BUY", 1, "1.00")
        assert (denied["status"], denied["reject_reason"]) == ("REJECTED", "buying_power")
        denied = await plat.order(buyer, sym, "BUY", 1, "0.01")
        assert (denied["status"], denied["reject_reason"]) == ("REJECTED", "max_position")
        # The seller's proceeds count as well: it may buy with them already.
        assert (await plat.order(seller, other, "BUY", 9, "100.00"))["status"] == "NEW"

        before = {a: await _exposure(dsn, a, sym) for a in (buyer_id, seller_id)}
        conn = await asyncpg.connect(dsn)
        try:
            while await deliver_batch(conn, 100):
                pass
            posted = {r["account_id"]: (r["asset"], r["amount"]) for r in await conn.fetch(
                "SELECT account_id, asset, amount FROM balances WHERE account_id = ANY($1) "
                "AND asset = 'USD'", [buyer_id, seller_id])}
        finally:
            await conn.close()
        assert posted == {buyer_id: ("USD", Decimal("0")), seller_id: ("USD", Decimal("1000"))}
        assert {a: await _exposure(dsn, a, sym) for a in (buyer_id, seller_id)} == before
        denied = await plat.order(buyer, other, "BUY", 1, "1.00")
        assert (denied["status"], denied["reject_reason"]) == ("REJECTED", "buying_power")


async def test_an_unreadable_pending_event_counts_for_nothing(
    make_database: Callable[[str], str]
) -> None:
    dsn = make_database("unposted")
    await migrate_dsn(dsn)
    async with AsyncExitStack() as stack:
        plat = await start_inproc(dsn, stack, only=("risk", "orders", "gateway"))
        sym = await new_symbol(dsn)
        account_id, headers = await plat.create_account(cash="1000")
        conn = await asyncpg.connect(dsn)
        try:
            for price, quantity in (("not-a-price", 1), ("1e400", 1), ("10.00", "x"),
                                    ("10.00", 1.5), ("10.00", 10**30)):
                await conn.execute(
                    "INSERT INTO outbox (topic, aggregate_id, payload) "
                    "VALUES ('trade', $1, $2::jsonb)", uuid.uuid4(), json.dumps({
                        "trade_id": str(uuid.uuid4()), "symbol": sym, "price": price,
                        "quantity": quantity,
                        "buyer_account_id": account_id, "seller_account_id": "EXTERNAL"}))
        finally:
            await conn.close()
        assert await _exposure(dsn, account_id, sym) == (Decimal("1000"), 0)
        assert (await plat.order(headers, sym, "BUY", 10, "100.00"))["status"] == "NEW"
