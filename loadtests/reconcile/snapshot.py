"""What reconcile reads from the database (schema: platform/tradeplat/migrations/*.sql).

First it waits for the transactional outbox to drain (the portfolio relay
delivers every ``trade`` event to the ledger), then it reads everything in ONE
read-only REPEATABLE READ transaction, so every check sees the same instant.

Scope: the orders of the load accounts created while the run lasted (from the
first journal record to the last, widened by a clock-skew margin) plus every
acknowledged order; the trades, fills, outbox
events and ledger postings of those orders. The bank checks (positions,
balances, conservation) are computed over the whole database, in SQL.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import asyncpg

from loadtests.errors import ReconcileError


@dataclass(frozen=True)
class OrderRow:
    order_id: str
    account_id: str
    client_order_id: str
    symbol: str
    side: str
    type: str
    quantity: int
    price: Decimal | None
    filled_quantity: int
    status: str
    created_at: float
    fill_quantity: int  # sum of its fills
    fill_count: int


@dataclass(frozen=True)
class FillRow:
    fill_id: str
    trade_id: str
    order_id: str
    account_id: str
    symbol: str
    side: str
    price: Decimal
    quantity: int


@dataclass(frozen=True)
class TradeRow:
    trade_id: str
    symbol: str
    price: Decimal
    quantity: int
    buy_order_id: str
    sell_order_id: str


@dataclass
class Snapshot:
    orders: dict[str, OrderRow] = field(default_factory=dict)
    trades: dict[str, TradeRow] = field(default_factory=dict)
    fills: list[FillRow] = field(default_factory=list)
    # trade id -> [(event_id, delivered)]
    outbox: dict[str, list[tuple[int, bool]]] = field(default_factory=dict)
    # (trade id, account, asset) -> amount posted
    trade_postings: dict[tuple[str, str, str], Decimal] = field(default_factory=dict)
    # [(account, asset, expected from deposits + fills, balance)]
    position_mismatches: list[tuple[str, str, Decimal, Decimal]] = field(default_factory=list)
    # [(account, asset, ledger sum, balance)]
    balance_mismatches: list[tuple[str, str, Decimal, Decimal]] = field(default_factory=list)
    # [(asset, sum over all accounts)] that is not zero
    unbalanced_assets: list[tuple[str, Decimal]] = field(default_factory=list)
    # [(journal id, trade id or None, asset, net)] postings that do not net to zero
    unbalanced_journals: list[tuple[str, str | None, str, Decimal]] = field(default_factory=list)
    pending_outbox: list[tuple[int, str, str]] = field(default_factory=list)  # (id, topic, agg)
    balance_count: int = 0  # (account, asset) balances in the database
    asset_count: int = 0  # distinct assets in the ledger
    ledger_journal_count: int = 0
    drain_waited_s: float = 0.0
    drained: bool = True


ORDERS_SQL = """
SELECT o.order_id::text, o.account_id, o.client_order_id, o.symbol, o.side, o.order_type,
       o.quantity, o.limit_price, o.filled_quantity, o.status,
       extract(epoch FROM o.created_at)::float8 AS created_at,
       coalesce(sum(f.quantity), 0)::bigint AS fill_quantity, count(f.fill_id) AS fill_count
FROM orders o LEFT JOIN fills f ON f.order_id = o.order_id
WHERE (o.account_id = ANY($1::text[]) AND o.created_at >= to_timestamp($2)
       AND o.created_at <= to_timestamp($4))
   OR o.order_id = ANY($3::uuid[])
GROUP BY o.order_id
"""

TRADES_SQL = """
SELECT trade_id::text, symbol, price, quantity, buy_order_id::text, sell_order_id::text
FROM trades WHERE buy_order_id = ANY($1::uuid[]) OR sell_order_id = ANY($1::uuid[])
"""

FILLS_SQL = """
SELECT fill_id::text, trade_id::text, order_id::text, account_id, symbol, side, price, quantity
FROM fills WHERE trade_id = ANY($1::uuid[]) OR order_id = ANY($2::uuid[])
"""

OUTBOX_SQL = """
SELECT event_id, aggregate_id::text, delivered_at IS NOT NULL AS delivered
FROM outbox WHERE topic = 'trade' AND aggregate_id = ANY($1::uuid[])
"""

POSTINGS_SQL = """
SELECT trade_id::text, account_id, asset, sum(amount) AS amount
FROM ledger_entries WHERE kind = 'TRADE' AND trade_id = ANY($1::uuid[])
GROUP BY trade_id, account_id, asset
"""

POSITIONS_SQL = """
WITH implied AS (
    SELECT account_id, asset, sum(amount) AS amount FROM (
        SELECT account_id, asset, amount FROM ledger_entries WHERE kind = 'DEPOSIT'
        UNION ALL
        SELECT account_id, symbol,
               CASE side WHEN 'BUY' THEN quantity ELSE -quantity END::numeric
        FROM fills
        UNION ALL
        SELECT account_id, 'USD',
               CASE side WHEN 'BUY' THEN -(quantity * price) ELSE quantity * price END
        FROM fills
    ) AS x GROUP BY account_id, asset
)
SELECT coalesce(i.account_id, b.account_id), coalesce(i.asset, b.asset),
       coalesce(i.amount, 0), coalesce(b.amount, 0)
FROM implied i FULL OUTER JOIN balances b
     ON b.account_id = i.account_id AND b.asset = i.asset
WHERE coalesce(i.amount, 0) <> coalesce(b.amount, 0)
ORDER BY 1, 2
"""

BALANCES_SQL = """
WITH l AS (SELECT account_id, asset, sum(amount) AS amount FROM ledger_entries
           GROUP BY account_id, asset)
SELECT coalesce(l.account_id, b.account_id), coalesce(l.asset, b.asset),
       coalesce(l.amount, 0), coalesce(b.amount, 0)
FROM l FULL OUTER JOIN balances b ON b.account_id = l.account_id AND b.asset = l.asset
WHERE coalesce(l.amount, 0) <> coalesce(b.amount, 0)
ORDER BY 1, 2
"""

ASSETS_SQL = """
SELECT asset, sum(amount) FROM ledger_entries GROUP BY asset HAVING sum(amount) <> 0 ORDER BY 1
"""

JOURNALS_SQL = """
SELECT journal_id::text, min(trade_id::text), asset, sum(amount) FROM ledger_entries
GROUP BY journal_id, asset HAVING sum(amount) <> 0 ORDER BY 1, 3
"""

COUNTS_SQL = """
SELECT (SELECT count(*) FROM balances), (SELECT count(DISTINCT asset) FROM ledger_entries),
       (SELECT count(DISTINCT journal_id) FROM ledger_entries)
"""

PENDING_SQL = """
SELECT event_id, topic, aggregate_id::text FROM outbox WHERE delivered_at IS NULL
ORDER BY event_id LIMIT 1000
"""


def redact(dsn: str) -> str:
    """The DSN without its password, for messages."""
    if "@" not in dsn or "://" not in dsn:
        return dsn
    scheme, rest = dsn.split("://", 1)
    creds, host = rest.rsplit("@", 1)
    user = creds.split(":", 1)[0]
    return f"{scheme}://{user}@{host}"


#: What a database that is down, hung, misaddressed or dropped mid-read raises: each is
#: an error of reconcile (exit 2), never a verdict about the orders.
DATABASE_ERRORS = (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError,
                   ValueError)

#: Upper bound of one snapshot query; a hung database must not hang reconcile.
QUERY_TIMEOUT_S = 120.0


async def _connect(dsn: str, timeout_s: float) -> asyncpg.Connection:
    try:
        return await asyncpg.connect(dsn, timeout=timeout_s, command_timeout=QUERY_TIMEOUT_S)
    except DATABASE_ERRORS as exc:
        raise ReconcileError(f"cannot connect to the database {redact(dsn)}: {exc}") from exc


async def _wait_for_drain(conn: asyncpg.Connection, timeout_s: float) -> tuple[bool, float]:
    start = time.monotonic()
    while True:
        pending = await conn.fetchval("SELECT count(*) FROM outbox WHERE delivered_at IS NULL")
        waited = time.monotonic() - start
        if pending == 0:
            return True, waited
        if waited >= timeout_s:
            return False, waited
        await asyncio.sleep(0.25)


def _uuids(ids: Any) -> list[uuid.UUID]:
    out = []
    for value in ids:
        try:
            out.append(uuid.UUID(str(value)))
        except ValueError:
            continue  # not a UUID: cannot exist in the database; the check names it as lost
    return out


async def _read(
    dsn: str,
    accounts: list[str],
    since: float,
    until: float,
    acked_ids: list[str],
    drain_timeout_s: float,
    connect_timeout_s: float,
) -> Snapshot:
    conn = await _connect(dsn, connect_timeout_s)
    try:
        snap = Snapshot()
        snap.drained, snap.drain_waited_s = await _wait_for_drain(conn, drain_timeout_s)
        async with conn.transaction(isolation="repeatable_read", readonly=True):
            for r in await conn.fetch(ORDERS_SQL, accounts, since, _uuids(acked_ids), until):
                snap.orders[r[0]] = OrderRow(
                    order_id=r[0],
                    account_id=r[1],
                    client_order_id=r[2],
                    symbol=r[3],
                    side=r[4],
                    type=r[5],
                    quantity=int(r[6]),
                    price=r[7],
                    filled_quantity=int(r[8]),
                    status=r[9],
                    created_at=float(r[10]),
                    fill_quantity=int(r[11]),
                    fill_count=int(r[12]),
                )
            order_ids = _uuids(snap.orders)
            for r in await conn.fetch(TRADES_SQL, order_ids):
                snap.trades[r[0]] = TradeRow(r[0], r[1], r[2], int(r[3]), r[4], r[5])
            trade_ids = _uuids(snap.trades)
            for r in await conn.fetch(FILLS_SQL, trade_ids, order_ids):
                snap.fills.append(FillRow(r[0], r[1], r[2], r[3], r[4], r[5], r[6], int(r[7])))
            for r in await conn.fetch(OUTBOX_SQL, trade_ids):
                snap.outbox.setdefault(r[1], []).append((int(r[0]), bool(r[2])))
            for r in await conn.fetch(POSTINGS_SQL, trade_ids):
                snap.trade_postings[(r[0], r[1], r[2])] = r[3]
            snap.position_mismatches = [tuple(r) for r in await conn.fetch(POSITIONS_SQL)]
            snap.balance_mismatches = [tuple(r) for r in await conn.fetch(BALANCES_SQL)]
            snap.unbalanced_assets = [tuple(r) for r in await conn.fetch(ASSETS_SQL)]
            snap.unbalanced_journals = [tuple(r) for r in await conn.fetch(JOURNALS_SQL)]
            snap.pending_outbox = [tuple(r) for r in await conn.fetch(PENDING_SQL)]
            counts = await conn.fetchrow(COUNTS_SQL)
            snap.balance_count, snap.asset_count, snap.ledger_journal_count = (
                int(counts[0]),
                int(counts[1]),
                int(counts[2]),
            )
        return snap
    except DATABASE_ERRORS as exc:
        raise ReconcileError(f"reading the database {redact(dsn)} failed: {exc!r}") from exc
    finally:
        await conn.close()


def take_snapshot(
    dsn: str,
    *,
    accounts: list[str],
    since: float,
    until: float,
    acked_order_ids: list[str],
    drain_timeout_s: float = 30.0,
    connect_timeout_s: float = 10.0,
) -> Snapshot:
    """Wait for the outbox to drain (up to ``drain_timeout_s``), then read the snapshot.

    Orders of ``accounts`` created between ``since`` and ``until`` (Unix seconds)
    are in scope, plus ``acked_order_ids`` whenever they were created.
    """
    return asyncio.run(
        _read(
            dsn, sorted(accounts), since, until, acked_order_ids, drain_timeout_s, connect_timeout_s
        )
    )
