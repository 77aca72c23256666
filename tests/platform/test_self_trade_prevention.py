"""Self-trade prevention: an account's order never trades against its own resting
order unless ``TRADEPLAT_ORDERS_SELF_TRADE_PREVENTION=none``.

Every test builds the same book (another account at 9.99 and 10.01, the account
itself at 10.00 in between) and sends the account's BUY 10 @ 10.01 into it."""

from __future__ import annotations

from contextlib import AsyncExitStack
from typing import Any, NamedTuple

import asyncpg
import pytest
from platform_helpers import Platform, new_symbol, platform_env, start_inproc
from tradeplat.config import load_settings
from tradeplat.errors import ConfigError


class Scenario(NamedTuple):
    symbol: str
    trader: dict[str, str]  # the trader's headers
    own_sell_id: str  # the trader's resting SELL 3 @ 10.00
    buy: dict[str, Any]  # the answer to the trader's BUY 10 @ 10.01


async def _buy_into_book(venue: Platform) -> Scenario:
    """Build the book, then send the trader's BUY into it."""
    sym = await new_symbol(venue.dsn, "10.00")
    _, other = await venue.create_account(positions={sym: 100})
    _, trader = await venue.create_account(positions={sym: 100})
    await venue.order(other, sym, "SELL", 2, "9.99")
    own = await venue.order(trader, sym, "SELL", 3, "10.00")
    await venue.order(other, sym, "SELL", 3, "10.01")
    buy = await venue.order(trader, sym, "BUY", 10, "10.01")
    return Scenario(sym, trader, own["order_id"], buy)


async def _trades(db: asyncpg.Pool, sym: str) -> list[tuple[str, int, bool]]:
    rows = await db.fetch(
        "SELECT t.price, t.quantity, b.account_id = s.account_id AS self FROM trades t "
        "JOIN orders b ON b.order_id = t.buy_order_id "
        "JOIN orders s ON s.order_id = t.sell_order_id WHERE t.symbol = $1 ORDER BY t.seq", sym)
    return [(str(r["price"]), r["quantity"], r["self"]) for r in rows]


async def _resting(venue: Platform, case: Scenario) -> tuple[str, int, str | None]:
    order = await venue.get_order(case.trader, case.own_sell_id)
    return order["status"], order["filled_quantity"], order["reject_reason"]


async def test_cancel_newest_cancels_the_incoming_remainder(
    platform: Platform, db: asyncpg.Pool
) -> None:
    case = await _buy_into_book(platform)
    buy = case.buy
    assert (buy["status"], buy["filled_quantity"], buy["reject_reason"]) == (
        "CANCELED", 2, "self_trade_prevented")
    assert await _trades(db, case.symbol) == [("9.9900", 2, False)]  # better prices trade
    assert await _resting(platform, case) == ("NEW", 0, None)

    market = await platform.order(case.trader, case.symbol, "BUY", 1)  # MARKET: same rule
    assert (market["status"], market["reject_reason"]) == ("CANCELED", "self_trade_prevented")


@pytest.mark.parametrize(
    ("mode", "incoming", "trades", "resting"),
    [
        ("cancel_oldest", ("PARTIALLY_FILLED", 5, None),
         [("9.9900", 2, False), ("10.0100", 3, False)], ("CANCELED", 0, "self_trade_prevented")),
        ("none", ("PARTIALLY_FILLED", 8, None),
         [("9.9900", 2, False), ("10.0000", 3, True), ("10.0100", 3, False)],
         ("FILLED", 3, None)),
    ],
)
async def test_other_modes(
    platform: Platform, db: asyncpg.Pool, mode: str, incoming: tuple[str, int, str | None],
    trades: list[tuple[str, int, bool]], resting: tuple[str, int, str | None],
) -> None:
    # cancel_oldest: the account's resting order is canceled and matching goes on;
    # none: the account trades with itself.
    async with AsyncExitStack() as stack:
        venue = await start_inproc(platform.dsn, stack, only=("risk", "orders", "gateway"),
                                   orders_self_trade_prevention=mode)
        case = await _buy_into_book(venue)
        buy = case.buy
        assert (buy["status"], buy["filled_quantity"], buy["reject_reason"]) == incoming
        assert await _trades(db, case.symbol) == trades
        assert await _resting(venue, case) == resting


def test_an_unknown_mode_is_a_config_error_naming_the_variable() -> None:
    assert load_settings(platform_env("postgresql://x")).self_trade_prevention == (
        "cancel_newest")
    with pytest.raises(ConfigError) as raised:
        load_settings(platform_env("postgresql://x", orders_self_trade_prevention="decrement"))
    assert raised.value.variable == "TRADEPLAT_ORDERS_SELF_TRADE_PREVENTION"
