"""The submission's one-round-trip statements (migrations 0006 and 0007) read
with a snapshot taken after their lock: what the lock's previous holder
committed while they waited is seen, as when the read was a statement of its own."""

from __future__ import annotations

import asyncio
import uuid
from decimal import Decimal

import asyncpg
from platform_helpers import Platform, new_symbol
from tradeplat.services.orders.matching import BATCH, MATCHING_LOCK_CLASS
from tradeplat.services.orders.submission import ACCOUNT_LOCK_CLASS, claim_submission

_INSERT_ORDER = (
    "INSERT INTO orders (order_id, account_id, client_order_id, request_sha256, symbol, side, "
    "order_type, quantity, limit_price, status) "
    "VALUES ($1, $2, $3, '\\x00', $4, $5, 'LIMIT', 1, $6, 'NEW')"
)


async def test_claim_sees_a_twin_committed_while_it_waited_for_the_account_lock(
    platform: Platform, db: asyncpg.Pool
) -> None:
    sym = await new_symbol(platform.dsn)
    account_id, _ = await platform.create_account()
    async with db.acquire() as holder, db.acquire() as waiter:
        held = holder.transaction()
        await held.start()
        await holder.execute("SELECT pg_advisory_xact_lock($1, hashtext($2))",
                             ACCOUNT_LOCK_CLASS, account_id)
        waiting = waiter.transaction()
        await waiting.start()
        try:
            claim = asyncio.create_task(
                claim_submission(waiter, account_id, "twin-1", hold_s=5.0, wait_s=5.0))
            await asyncio.sleep(0.3)
            assert not claim.done()  # no twin yet: it waits for the account lock
            twin_id = uuid.uuid4()
            await holder.execute(_INSERT_ORDER, twin_id, account_id, "twin-1", sym, "BUY",
                                 Decimal("1.00"))
            await held.commit()
            row = await asyncio.wait_for(claim, 5)
            assert row is not None and row["order_id"] == twin_id
        finally:
            await waiting.rollback()


async def test_place_order_books_what_the_symbol_locks_previous_holder_committed(
    platform: Platform, db: asyncpg.Pool
) -> None:
    sym = await new_symbol(platform.dsn)
    account_id, _ = await platform.create_account()
    async with db.acquire() as holder, db.acquire() as waiter:
        held = holder.transaction()
        await held.start()
        await holder.execute("SELECT pg_advisory_xact_lock($1, hashtext($2))",
                             MATCHING_LOCK_CLASS, sym)
        waiting = waiter.transaction()
        await waiting.start()
        try:
            buy_id = uuid.uuid4()
            place = asyncio.create_task(waiter.fetch(
                "SELECT * FROM tradeplat_place_order($1, $2, $3, '\\x00', $4, 'BUY', 'LIMIT', "
                "1, $5, 'NEW', NULL, true, $6, $5, $7)",
                buy_id, account_id, "buy-1", sym, Decimal("1.00"), MATCHING_LOCK_CLASS, BATCH,
            ))
            await asyncio.sleep(0.3)
            assert not place.done()  # it waits for the symbol's matching lock
            sell_id = uuid.uuid4()
            await holder.execute(_INSERT_ORDER, sell_id, account_id, "sell-1", sym, "SELL",
                                 Decimal("1.00"))
            await held.commit()
            rows = await asyncio.wait_for(place, 5)
            # The order's row first, then the book it may trade with: the sell committed
            # while it waited.
            assert [r["order_id"] for r in rows] == [buy_id, sell_id]
            assert rows[0]["seq"] > rows[1]["seq"]  # its time priority is after the lock
        finally:
            await waiting.rollback()
