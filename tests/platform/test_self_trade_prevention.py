"""Self-trade prevention: an account's order never trades against its own resting
order unless ``TRADEPLAT_ORDERS_SELF_TRADE_PREVENTION=none``.

Every test builds the same book (another account at 9.99 and 10.01, the account
itself at 10.00 in between) and sends the account's BUY 10 @ 10.01 into it."""

from __future__ import annotations

from contextlib import AsyncExitStack
from typing import Any

import asyncpg
import pytest
from platform_helpers import Platform, new_symbol, platform_env, start_inproc
from tradeplat.config import load_settings
from tradeplat.errors import ConfigError


async def _book(platform: Platform) -> tuple[str, dict[str, str], dict[str, Any]]:
    """(symbol, the trader's headers, the trader's resting SELL)."""
    sym = await new_symbol(platform.dsn, "10.00")
    _, other = await platform.create_account(positions={sym: 100})
    _, trader = await platform.create_account(positions={sym: 100})
    await platform.order(other, sym, "SELL", 2, "9.99")
    own = await platform.order(trader, sym, "SELL", 3, "10.00")
    await platform.order(other, sym, "SELL", 3, "10.01")
    return sym, trader, own


async def _trades(db: asyncpg.Pool, sym: str) -> list[tuple[str, int, bool]]:
    rows = await db.fetch(
        "SELECT t.price, t.quantity, b.account_id = s.account_id AS self FROM trades t "
        "JOIN orders b ON b.order_id = t.buy_order_id "
        "JOIN orders s ON s.order_id = t.sell_order_id WHERE t.symbol = $1 ORDER BY t.seq", sym)
    return [(str(r["price"]), r["quantity"], r["self"]) for r in rows]


async def test_cancel_newest_cancels_the_incoming_remainder(
    platform: Platform, db: asyncpg.Pool
) -> None:
    sym, trader, own = await _book(platform)
    buy = await platform.order(trader, sym, "BUY", 10, "10.01")
    assert (buy["status"], buy["filled_quantity"], buy["reject_reason"]) == (
        "CANCELED", 2, "self_trade_prevented")
    assert await _trades(db, sym) == [("9.9900", 2, False)]  # better prices still trade
    resting = await platform.get_order(trader, own["order_id"])
    assert (resting["status"], resting["filled_quantity"]) == ("NEW", 0)

    market = await platform.order(trader, sym, "BUY", 1)  # MARKET: same rule
    assert (market["status"], market["reject_reason"]) == ("CANCELED", "self_trade_prevented")


async def _with_mode(platform: Platform, mode: str, stack: AsyncExitStack) -> Platform:
    return await start_inproc(platform.dsn, stack, only=("risk", "orders", "gateway"),
                              orders_self_trade_prevention=mode)


async def test_cancel_oldest_cancels_the_resting_order_and_goes_on(
    platform: Platform, db: asyncpg.Pool
) -> None:
    async with AsyncExitStack() as stack:
        venue = await _with_mode(platform, "cancel_oldest", stack)
        sym, trader, own = await _book(venue)
        buy = await venue.order(trader, sym, "BUY", 10, "10.01")
        assert (buy["status"], buy["filled_quantity"], buy["reject_reason"]) == (
            "PARTIALLY_FILLED", 5, None)
        assert await _trades(db, sym) == [("9.9900", 2, False), ("10.0100", 3, False)]
        resting = await venue.get_order(trader, own["order_id"])
        assert (resting["status"], resting["filled_quantity"], resting["reject_reason"]) == (
            "CANCELED", 0, "self_trade_prevented")


async def test_none_lets_an_account_trade_with_itself(
    platform: Platform, db: asyncpg.Pool
) -> None:
    async with AsyncExitStack() as stack:
        venue = await _with_mode(platform, "none", stack)
        sym, trader, own = await _book(venue)
        buy = await venue.order(trader, sym, "BUY", 10, "10.01")
        assert (buy["status"], buy["filled_quantity"]) == ("PARTIALLY_FILLED", 8)
        assert await _trades(db, sym) == [
            ("9.9900", 2, False), ("10.0000", 3, True), ("10.0100", 3, False)]
        assert (await venue.get_order(trader, own["order_id"]))["status"] == "FILLED"


def test_an_unknown_mode_is_a_config_error_naming_the_variable() -> None:
    assert load_settings(platform_env("postgresql://x")).self_trade_prevention == (
        "cancel_newest")
    with pytest.raises(ConfigError) as raised:
        load_settings(platform_env("postgresql://x", orders_self_trade_prevention="decrement"))
    assert raised.value.variable == "TRADEPLAT_ORDERS_SELF_TRADE_PREVENTION"
