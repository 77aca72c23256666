"""Pre-trade checks. Each denial has a stable ``reason`` (a metric label too).

Reads are one query over balances, open orders, trades not yet in the ledger,
limits, halts and the last quote. Two orders of one account are never checked
at the same moment: orders asks under a per-account lock and inserts the order
before releasing it (``services/orders/submission.py``), so each check sees the
orders placed before it.

Balances lag fills by the outbox delay: a filled BUY leaves the open orders
when it trades, its cash leaves the balance only when portfolio's relay posts
the trade. So cash and positions are the balances plus the account's trade
events still pending in the outbox (as buyer and as seller; migration 0004
indexes them): one snapshot sees a trade either pending or posted, never both
or neither, and the figures are the same before and after the relay. An
unreadable (poison) event counts for nothing here, as in the ledger.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

import asyncpg

from tradeplat.config import RiskDefaults
from tradeplat.errors import NotFound
from tradeplat.money import CASH_ASSET, FOUR_PLACES
from tradeplat.schemas import RiskCheck, RiskVerdict

CHECK_QUERY = """
SELECT
    (SELECT trading_halted FROM risk_settings WHERE id = 1)              AS platform_halted,
    s.trading_halted                                                     AS symbol_halted,
    COALESCE(q.last, s.reference_price)                                  AS last_price,
    l.max_order_notional, l.max_position,
    COALESCE((SELECT amount FROM balances
              WHERE account_id = $1 AND asset = $3), 0)                  AS cash,
    COALESCE((SELECT amount FROM balances
              WHERE account_id = $1 AND asset = $2), 0)                  AS position,
    COALESCE((SELECT sum((quantity - filled_quantity) * limit_price) FROM orders
              WHERE account_id = $1 AND side = 'BUY'
                AND status IN ('NEW', 'PARTIALLY_FILLED')), 0)           AS open_buy_notional,
    COALESCE((SELECT sum(quantity - filled_quantity) FROM orders
              WHERE account_id = $1 AND symbol = $2 AND side = 'BUY'
                AND status IN ('NEW', 'PARTIALLY_FILLED')), 0)           AS open_buy_qty,
    COALESCE((SELECT sum(quantity - filled_quantity) FROM orders
              WHERE account_id = $1 AND symbol = $2 AND side = 'SELL'
                AND status IN ('NEW', 'PARTIALLY_FILLED')), 0)           AS open_sell_qty,
    pend.cash                                                            AS pending_cash,
    pend.shares                                                          AS pending_shares,
    true                                                                 AS symbol_found
FROM symbols s
LEFT JOIN quotes q ON q.symbol = s.symbol
LEFT JOIN risk_limits l ON l.account_id = $1
CROSS JOIN LATERAL (
    -- Trades not yet in the ledger: dir -1 as buyer (pays cash, gets shares),
    -- +1 as seller; a self-trade appears twice and nets to zero.
    SELECT COALESCE(sum(ev.dir * v.price * v.qty), 0)                    AS cash,
           COALESCE(sum(-ev.dir * v.qty) FILTER (WHERE v.symbol = $2), 0) AS shares
    FROM (
        SELECT -1 AS dir, payload FROM outbox
         WHERE delivered_at IS NULL AND topic = 'trade'
           AND payload->>'buyer_account_id' = $1
        UNION ALL
        SELECT 1, payload FROM outbox
         WHERE delivered_at IS NULL AND topic = 'trade'
           AND payload->>'seller_account_id' = $1
    ) ev
    CROSS JOIN LATERAL (
        SELECT ev.payload->>'symbol' AS symbol,
               CASE WHEN ev.payload->>'price' ~ '^[0-9]{1,14}([.][0-9]{1,4})?$'
                    THEN (ev.payload->>'price')::numeric END             AS price,
               CASE WHEN jsonb_typeof(ev.payload->'quantity') = 'number'
                     AND ev.payload->>'quantity' ~ '^[0-9]{1,15}$'
                    THEN (ev.payload->>'quantity')::bigint END           AS qty
    ) v
    WHERE ev.payload ?& array['trade_id', 'symbol'] AND v.price IS NOT NULL
      AND v.qty IS NOT NULL
) pend
WHERE s.symbol = $2
"""


@dataclass(frozen=True)
class Exposure:
    platform_halted: bool
    symbol_halted: bool
    last_price: Decimal
    max_order_notional: Decimal
    max_position: int
    cash: Decimal  # the balance, plus trades not yet posted to the ledger
    position: int  # likewise
    open_buy_notional: Decimal
    open_buy_qty: int
    open_sell_qty: int


async def load_exposure(
    conn: asyncpg.Connection, check: RiskCheck, defaults: RiskDefaults
) -> Exposure:
    row = await conn.fetchrow(CHECK_QUERY, check.account_id, check.symbol, CASH_ASSET)
    return exposure_from_row(row, check, defaults)


def exposure_from_row(
    row: asyncpg.Record | None, check: RiskCheck, defaults: RiskDefaults
) -> Exposure:
    """The exposure of a ``CHECK_QUERY`` row; ``NotFound`` for an unknown symbol."""
    if row is None or not row["symbol_found"]:
        raise NotFound(f"unknown symbol {check.symbol!r}", field="symbol")
    return Exposure(
        platform_halted=bool(row["platform_halted"]),
        symbol_halted=bool(row["symbol_halted"]),
        last_price=row["last_price"],
        max_order_notional=row["max_order_notional"] or defaults.max_order_notional,
        max_position=row["max_position"] or defaults.max_position,
        cash=row["cash"] + row["pending_cash"],
        position=int(row["position"]) + int(row["pending_shares"]),
        open_buy_notional=row["open_buy_notional"],
        open_buy_qty=int(row["open_buy_qty"]),
        open_sell_qty=int(row["open_sell_qty"]),
    )


def protection_price(side: str, last_price: Decimal, collar_pct: Decimal) -> Decimal:
    """The worst price a MARKET order may trade at: ``last`` ± ``collar_pct`` %,
    rounded inward (a buy never pays more, a sell never gets less)."""
    if side == "BUY":
        return (last_price * (100 + collar_pct) / 100).quantize(FOUR_PLACES, ROUND_FLOOR)
    return (last_price * (100 - collar_pct) / 100).quantize(FOUR_PLACES, ROUND_CEILING)


def evaluate(
    check: RiskCheck, x: Exposure, collar_pct: Decimal = RiskDefaults.market_collar_pct
) -> RiskVerdict:
    """The verdict for ``check`` given the account's exposure (pure: no I/O).

    A MARKET order is valued at its protection price (the worst it may pay), and
    an allowed one carries that price for matching."""
    if x.platform_halted:
        return RiskVerdict(allowed=False, reason="trading_halted", detail="trading is halted")
    if x.symbol_halted:
        return RiskVerdict(
            allowed=False, reason="symbol_halted", detail=f"{check.symbol} is halted"
        )
    protection = (
        protection_price(check.side.value, x.last_price, collar_pct)
        if check.price is None else None
    )
    price = check.price if check.price is not None else x.last_price
    if protection is not None and check.side.value == "BUY":
        price = protection
    notional = price * check.quantity
    if notional > x.max_order_notional:
        return RiskVerdict(
            allowed=False, reason="max_notional",
            detail=f"order notional {notional} exceeds {x.max_order_notional}",
        )
    if check.side.value == "BUY":
        resulting = x.position + x.open_buy_qty + check.quantity
    else:
        resulting = x.position - x.open_sell_qty - check.quantity
    if abs(resulting) > x.max_position:
        return RiskVerdict(
            allowed=False, reason="max_position",
            detail=f"resulting position {resulting} exceeds ±{x.max_position}",
        )
    if check.side.value == "BUY":
        buying_power = x.cash - x.open_buy_notional
        if notional > buying_power:
            return RiskVerdict(
                allowed=False, reason="buying_power",
                detail=f"order notional {notional} exceeds buying power {buying_power}",
            )
    return RiskVerdict(allowed=True, protection_price=protection)
