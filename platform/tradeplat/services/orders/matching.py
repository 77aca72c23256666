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


#: Everything one match writes, in one statement (one round trip): the resting
#: orders' fills and self-trade cancels, the trades, two fills per trade, one outbox
#: event per trade, and the incoming order's new state (returned when it changed).
#: Foreign keys (a fill's trade) are checked at the end of the statement.
_WRITE_MATCH = f"""
WITH resting AS (
    UPDATE orders AS o SET filled_quantity = u.filled, status = u.status,
                           updated_at = clock_timestamp()
    FROM unnest($5::uuid[], $6::bigint[], $7::text[]) AS u(order_id, filled, status)
    WHERE o.order_id = u.order_id
    RETURNING 1
), own AS (
    UPDATE orders SET status = 'CANCELED', reject_reason = '{SELF_TRADE_PREVENTED}',
                      updated_at = clock_timestamp()
    WHERE order_id = ANY($8::uuid[])
    RETURNING 1
), new_trades AS (
    INSERT INTO trades (trade_id, symbol, price, quantity, buy_order_id, sell_order_id,
                        aggressor_side)
    SELECT t, $9, p, q, b, s, $10
    FROM unnest($11::uuid[], $12::numeric[], $13::bigint[], $14::uuid[], $15::uuid[])
         AS x(t, p, q, b, s)
    RETURNING 1
), new_fills AS (
    INSERT INTO fills (fill_id, trade_id, order_id, account_id, symbol, side, price, quantity)
    SELECT f, t, o, a, $9, sd, p, q
    FROM unnest($16::uuid[], $17::uuid[], $18::uuid[], $19::text[], $20::text[],
                $21::numeric[], $22::bigint[]) AS x(f, t, o, a, sd, p, q)
    RETURNING 1
), events AS (
    INSERT INTO outbox (topic, aggregate_id, payload)
    SELECT 'trade', t, p::jsonb FROM unnest($11::uuid[], $23::text[]) AS x(t, p)
    RETURNING 1
)
UPDATE orders SET filled_quantity = $2, status = $3,
                  reject_reason = COALESCE($4, reject_reason), updated_at = clock_timestamp()
WHERE order_id = $1 AND $3 <> 'NEW'
RETURNING {ORDER_COLUMNS}
"""


async def match(
    conn: asyncpg.Connection, order: Incoming, *, self_trade_prevention: str = "cancel_newest",
    first_batch: list[asyncpg.Record] | None = None,
) -> MatchOutcome:
    """Match ``order`` (already inserted as NEW) against the book.

    ``first_batch``: the book's first ``BATCH`` rows (``_book_query``'s), already
    read and row-locked under the symbol's lock (with the order's insert: migration
    0007); None to read them here."""
    remaining = order.quantity
    trades: list[Trade] = []
    resting_updates: list[tuple[uuid.UUID, int, str]] = []
    own_canceled: list[uuid.UUID] = []
    query = _book_query(order.side)
    stopped_by_own = False
    while remaining > 0:
        if resting_updates or own_canceled:
            # A full batch was used up: the next one must not see it again.
            await _write_resting(conn, resting_updates, own_canceled)
            resting_updates, own_canceled = [], []
        if first_batch is not None:
            rows, first_batch = first_batch, None
        else:
            rows = await conn.fetch(query, order.symbol, order.limit_price, BATCH)
        if not rows:
            break
        step = _walk(order, rows, remaining, self_trade_prevention)
        remaining, stopped_by_own = step.remaining, step.stopped_by_own
        trades.extend(step.trades)
        resting_updates.extend(step.resting_updates)
        own_canceled.extend(step.own_canceled)
        if stopped_by_own or len(rows) < BATCH:
            break
    filled = order.quantity - remaining
    status = final_status(order.order_type, order.quantity, filled)
    reason = None
    if stopped_by_own and remaining > 0:
        status, reason = "CANCELED", SELF_TRADE_PREVENTED
    if status == "NEW" and not trades and not resting_updates and not own_canceled:
        return MatchOutcome(trades, None)
    fills = []
    for t in trades:
        fills.append((uuid.uuid4(), t.trade_id, t.buy_order_id, t.buyer, "BUY", t.price,
                      t.quantity))
        fills.append((uuid.uuid4(), t.trade_id, t.sell_order_id, t.seller, "SELL", t.price,
                      t.quantity))
    updated = await conn.fetchrow(
        _WRITE_MATCH,
        order.order_id, filled, status, reason,
        [u[0] for u in resting_updates], [u[1] for u in resting_updates],
        [u[2] for u in resting_updates],
        own_canceled,
        order.symbol, order.side,
        [t.trade_id for t in trades], [t.price for t in trades], [t.quantity for t in trades],
        [t.buy_order_id for t in trades], [t.sell_order_id for t in trades],
        *([f[i] for f in fills] for i in range(7)),
        [json.dumps(trade_event(order.symbol, t)) for t in trades],
    )
    return MatchOutcome(trades, updated)


async def _write_resting(
    conn: asyncpg.Connection, updates: list[tuple[uuid.UUID, int, str]],
    own_canceled: list[uuid.UUID],
) -> None:
    if updates:
        await conn.executemany(
            "UPDATE orders SET filled_quantity = $2, status = $3, updated_at = clock_timestamp() "
            "WHERE order_id = $1",
            updates,
        )
    if own_canceled:
        await conn.execute(
            "UPDATE orders SET status = 'CANCELED', reject_reason = $2, "
            "updated_at = clock_timestamp() WHERE order_id = ANY($1::uuid[])",
            own_canceled, SELF_TRADE_PREVENTED,
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
