"""Double-entry postings of trades, applied from the outbox.

One journal per trade, four legs netted per (account, asset): the buyer pays
cash and receives shares, the seller the reverse. A self-trade nets to zero
legs, which are still posted so the trade is visibly accounted for. The
unique index ``ledger_trade_once`` makes a second application of the same
trade a no-op, and balances only move by the legs actually inserted.
"""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

import asyncpg

from tradeplat.errors import PoisonEvent
from tradeplat.money import CASH_ASSET

Leg = tuple[uuid.UUID, uuid.UUID, str, str, Decimal]  # journal, trade, account, asset, amount


def trade_legs(event: Mapping[str, Any]) -> list[Leg]:
    """The journal of one trade event, netted per (account, asset)."""
    trade_id = uuid.UUID(event["trade_id"])
    price = Decimal(event["price"])
    quantity = int(event["quantity"])
    notional = price * quantity
    buyer, seller, symbol = event["buyer_account_id"], event["seller_account_id"], event["symbol"]
    net: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    net[(buyer, CASH_ASSET)] -= notional
    net[(seller, CASH_ASSET)] += notional
    net[(buyer, symbol)] += quantity
    net[(seller, symbol)] -= quantity
    journal_id = uuid.uuid5(uuid.NAMESPACE_URL, f"tradeplat:trade:{trade_id}")
    return [(journal_id, trade_id, acc, asset, amount) for (acc, asset), amount in net.items()]


def balance_deltas(legs: Iterable[tuple[str, str, Decimal]]) -> list[tuple[str, str, Decimal]]:
    """Sum legs per (account, asset), sorted: every writer locks balances in one order."""
    total: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for account, asset, amount in legs:
        total[(account, asset)] += amount
    return [(acc, asset, amount) for (acc, asset), amount in sorted(total.items())]


async def deliver_batch(
    conn: asyncpg.Connection, batch_size: int, skip: Sequence[int] = ()
) -> int:
    """Apply up to ``batch_size`` pending trade events in one transaction.

    ``FOR UPDATE SKIP LOCKED`` lets several portfolio replicas drain the outbox
    side by side without waiting for or double-applying each other's events.
    Events in ``skip`` (set aside as poison) are left alone. Returns the number
    of events delivered; raises ``PoisonEvent`` (and applies nothing of the
    batch) when an event cannot be read.
    """
    async with conn.transaction():
        events = await conn.fetch(
            "SELECT event_id, topic, payload FROM outbox WHERE delivered_at IS NULL "
            "AND NOT (event_id = ANY($2::bigint[])) "
            "ORDER BY event_id LIMIT $1 FOR UPDATE SKIP LOCKED",
            batch_size, list(skip),
        )
        if not events:
            return 0
        legs: list[Leg] = []
        for event in events:
            if event["topic"] == "trade":
                payload = event["payload"]
                try:
                    legs.extend(trade_legs(json.loads(payload) if isinstance(payload, str)
                                           else payload))
                except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
                    raise PoisonEvent(event["event_id"], f"{type(exc).__name__}: {exc}") from exc
        if legs:
            inserted = await conn.fetch(
                "INSERT INTO ledger_entries "
                "(journal_id, kind, trade_id, account_id, asset, amount) "
                "SELECT j, 'TRADE', t, a, s, m FROM unnest($1::uuid[], $2::uuid[], $3::text[], "
                "$4::text[], $5::numeric[]) AS x(j, t, a, s, m) "
                "ON CONFLICT (trade_id, account_id, asset) WHERE trade_id IS NOT NULL DO NOTHING "
                "RETURNING account_id, asset, amount",
                [leg[0] for leg in legs], [leg[1] for leg in legs], [leg[2] for leg in legs],
                [leg[3] for leg in legs], [leg[4] for leg in legs],
            )
            deltas = balance_deltas((r["account_id"], r["asset"], r["amount"]) for r in inserted)
            if deltas:
                await conn.execute(
                    "INSERT INTO balances AS b (account_id, asset, amount) "
                    "SELECT a, s, m FROM unnest($1::text[], $2::text[], $3::numeric[]) "
                    "AS x(a, s, m) ORDER BY a, s "
                    "ON CONFLICT (account_id, asset) DO UPDATE "
                    "SET amount = b.amount + EXCLUDED.amount, updated_at = clock_timestamp()",
                    [d[0] for d in deltas], [d[1] for d in deltas], [d[2] for d in deltas],
                )
        await conn.execute(
            "UPDATE outbox SET delivered_at = clock_timestamp() WHERE event_id = ANY($1::bigint[])",
            [e["event_id"] for e in events],
        )
        return len(events)
