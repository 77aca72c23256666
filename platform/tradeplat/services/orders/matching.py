"""Price-time-priority matching of one incoming order, inside its transaction.

The caller holds ``pg_advisory_xact_lock`` for the symbol, so one matching
transaction per symbol runs at a time across every ``orders`` replica: the
book cannot change under it, two replicas never fill the same resting
quantity, and resting orders are additionally row-locked (``FOR UPDATE``)
against a concurrent cancel. Everything is written in that one transaction:
the trades, two fills per trade, the orders' new state and one outbox
``trade`` event per trade.

Self-trade prevention (``TRADEPLAT_ORDERS_SELF_TRADE_PREVENTION``) applies when
the next resting order in price-time priority that the incoming order would
trade with belongs to the same account:

* ``cancel_newest`` (default): matching stops there. Trades already made with
  other accounts stand; the incoming order's remainder is CANCELED with
  ``reject_reason`` ``self_trade_prevented`` (also a LIMIT order: it never
  rests crossing its own order). The resting order is left as it was.
* ``cancel_oldest``: that resting order's remainder is CANCELED with
  ``reject_reason`` ``self_trade_prevented`` and matching goes on.
* ``none``: the two trade (a self-trade's ledger postings net to zero).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from decimal import Decimal

import asyncpg

from tradeplat.money import money_str
from tradeplat.services.orders.repository import ORDER_COLUMNS

#: Two-key advisory lock namespace of the per-symbol matching lock.
MATCHING_LOCK_CLASS = 0x6F72  # 'or'
BATCH = 64
#: ``reject_reason`` of an order canceled by self-trade prevention.
SELF_TRADE_PREVENTED = "self_trade_prevented"


@dataclass(frozen=True)
class Incoming:
    order_id: uuid.UUID
    account_id: str
    symbol: str
    side: str
    order_type: str
    quantity: int
    #: The worst price to trade at: a LIMIT order's price, a MARKET order's
    #: protection price from risk (None: no bound, e.g. an older risk replica).
    limit_price: Decimal | None


@dataclass(frozen=True)
class Trade:
    trade_id: uuid.UUID
    price: Decimal
    quantity: int
    buy_order_id: uuid.UUID
    sell_order_id: uuid.UUID
    buyer: str
    seller: str


async def lock_symbol(conn: asyncpg.Connection, symbol: str) -> None:
    """Serialize matching for ``symbol`` until the transaction ends."""
    await conn.execute(
        "SELECT pg_advisory_xact_lock($1, hashtext($2))", MATCHING_LOCK_CLASS, symbol
    )


def _book_query(incoming_side: str) -> str:
    # The best opposite price first (lowest ask for a buy, highest bid for a
    # sell), then time priority (seq).
    if incoming_side == "BUY":
        return (
            "SELECT order_id, account_id, quantity, filled_quantity, limit_price FROM orders "
            "WHERE symbol = $1 AND side = 'SELL' AND status IN ('NEW', 'PARTIALLY_FILLED') "
            "AND ($2::numeric IS NULL OR limit_price <= $2) "
            "ORDER BY limit_price ASC, seq ASC LIMIT $3 FOR UPDATE"
        )
    return (
        "SELECT order_id, account_id, quantity, filled_quantity, limit_price FROM orders "
        "WHERE symbol = $1 AND side = 'BUY' AND status IN ('NEW', 'PARTIALLY_FILLED') "
        "AND ($2::numeric IS NULL OR limit_price >= $2) "
        "ORDER BY limit_price DESC, seq ASC LIMIT $3 FOR UPDATE"
    )


def final_status(order_type: str, quantity: int, filled: int) -> str:
    if filled == quantity:
        return "FILLED"
    if order_type == "MARKET":
        return "CANCELED"  # immediate-or-cancel: the rest is never booked
    return "PARTIALLY_FILLED" if filled else "NEW"


@dataclass(frozen=True)
class MatchOutcome:
    trades: list[Trade]
    #: The incoming order's row after matching; None when matching left it as inserted.
    updated: asyncpg.Record | None


@dataclass
class _Pass:
    """What one batch of the book did to the incoming order and the resting ones."""

    remaining: int
    trades: list[Trade]
    resting_updates: list[tuple[uuid.UUID, int, str]]
    own_canceled: list[uuid.UUID]
    stopped_by_own: bool = False


def _walk(order: Incoming, rows: list[asyncpg.Record], remaining: int, stp: str) -> _Pass:
    step = _Pass(remaining, [], [], [])
    for row in rows:
        if row["account_id"] == order.account_id and stp != "none":
            if stp == "cancel_newest":
                step.stopped_by_own = True
                break
            step.own_canceled.append(row["order_id"])  # cancel_oldest
            continue
        available = row["quantity"] - row["filled_quantity"]
        qty = min(step.remaining, available)
        if qty <= 0:
            continue
        if order.side == "BUY":
            buy_id, sell_id = order.order_id, row["order_id"]
            buyer, seller = order.account_id, row["account_id"]
        else:
            buy_id, sell_id = row["order_id"], order.order_id
            buyer, seller = row["account_id"], order.account_id
        step.trades.append(Trade(uuid.uuid4(), row["limit_price"], qty, buy_id, sell_id,
                                 buyer, seller))
        filled = row["filled_quantity"] + qty
        step.resting_updates.append(
            (row["order_id"], filled, final_status("LIMIT", row["quantity"], filled))
        )
        step.remaining -= qty
        if step.remaining == 0:
            break
    return step


async def match(
    conn: asyncpg.Connection, order: Incoming, *, self_trade_prevention: str = "cancel_newest"
) -> MatchOutcome:
    """Match ``order`` (already inserted as NEW) against the book."""
    remaining = order.quantity
    trades: list[Trade] = []
    query = _book_query(order.side)
    stopped_by_own = False
    while remaining > 0:
        rows = await conn.fetch(query, order.symbol, order.limit_price, BATCH)
        if not rows:
            break
        step = _walk(order, rows, remaining, self_trade_prevention)
        remaining, stopped_by_own = step.remaining, step.stopped_by_own
        trades.extend(step.trades)
        await conn.executemany(
            "UPDATE orders SET filled_quantity = $2, status = $3, updated_at = clock_timestamp() "
            "WHERE order_id = $1",
            step.resting_updates,
        )
        if step.own_canceled:
            await conn.execute(
                "UPDATE orders SET status = 'CANCELED', reject_reason = $2, "
                "updated_at = clock_timestamp() WHERE order_id = ANY($1::uuid[])",
                step.own_canceled, SELF_TRADE_PREVENTED,
            )
        if stopped_by_own or len(rows) < BATCH:
            break
    filled = order.quantity - remaining
    status = final_status(order.order_type, order.quantity, filled)
    reason = None
    if stopped_by_own and remaining > 0:
        status, reason = "CANCELED", SELF_TRADE_PREVENTED
    updated = None
    if status != "NEW":
        updated = await conn.fetchrow(
            "UPDATE orders SET filled_quantity = $2, status = $3, "
            "reject_reason = COALESCE($4, reject_reason), updated_at = clock_timestamp() "
            f"WHERE order_id = $1 RETURNING {ORDER_COLUMNS}",
            order.order_id, filled, status, reason,
        )
    if trades:
        await _record_trades(conn, order, trades)
    return MatchOutcome(trades, updated)


async def _record_trades(conn: asyncpg.Connection, order: Incoming, trades: list[Trade]) -> None:
    await conn.executemany(
        "INSERT INTO trades (trade_id, symbol, price, quantity, buy_order_id, sell_order_id, "
        "aggressor_side) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        [(t.trade_id, order.symbol, t.price, t.quantity, t.buy_order_id, t.sell_order_id,
          order.side) for t in trades],
    )
    fills = []
    for t in trades:
        fills.append((uuid.uuid4(), t.trade_id, t.buy_order_id, t.buyer, order.symbol, "BUY",
                      t.price, t.quantity))
        fills.append((uuid.uuid4(), t.trade_id, t.sell_order_id, t.seller, order.symbol, "SELL",
                      t.price, t.quantity))
    await conn.executemany(
        "INSERT INTO fills (fill_id, trade_id, order_id, account_id, symbol, side, price, "
        "quantity) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        fills,
    )
    await conn.executemany(
        "INSERT INTO outbox (topic, aggregate_id, payload) VALUES ('trade', $1, $2::jsonb)",
        [(t.trade_id, json.dumps(trade_event(order.symbol, t))) for t in trades],
    )


def trade_event(symbol: str, t: Trade) -> dict[str, object]:
    """The outbox payload of a trade (what portfolio's relay posts to the ledger)."""
    return {
        "trade_id": str(t.trade_id),
        "symbol": symbol,
        "price": money_str(t.price),
        "quantity": t.quantity,
        "buy_order_id": str(t.buy_order_id),
        "sell_order_id": str(t.sell_order_id),
        "buyer_account_id": t.buyer,
        "seller_account_id": t.seller,
    }
