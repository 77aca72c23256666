"""Order submission: idempotency, pre-trade check, then matching — in that order.

1. A submission whose (account, client_order_id) exists is answered with the
   original order (replay) or 409 when the body differs (``request_sha256``).
2. risk is asked before anything is written; when it cannot answer the order
   is refused with 503 (fail closed: never trade unchecked). A denial is
   stored as a REJECTED order (a business answer, 201).
3. One transaction: the per-symbol advisory lock, ``INSERT … ON CONFLICT DO
   NOTHING`` (a concurrent twin that won the race turns this one into a
   replay), matching, trades, fills and outbox events.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from decimal import Decimal

import asyncpg

from tradeplat.errors import (
    Conflict,
    DependencyUnavailable,
    InvalidInput,
    RateLimited,
    UpstreamError,
)
from tradeplat.money import money_str
from tradeplat.schemas import NewOrder, Order, RiskVerdict
from tradeplat.services.orders import repository
from tradeplat.services.orders.matching import Incoming, lock_symbol, match
from tradeplat.symbols import get_symbol
from tradeplat.web.runtime import Runtime


@dataclass(frozen=True)
class Submitted:
    order: Order
    created: bool  # False: a replay of the original submission


def request_fingerprint(order: NewOrder) -> bytes:
    """SHA-256 of what defines the order (not its id): a reused id must match it."""
    canonical = {
        "symbol": order.symbol,
        "side": order.side.value,
        "type": order.type.value,
        "quantity": order.quantity,
        "price": money_str(order.price),
    }
    return hashlib.sha256(json.dumps(canonical, sort_keys=True).encode()).digest()


def _replay(row: asyncpg.Record, fingerprint: bytes) -> Submitted:
    if bytes(row["request_sha256"]) != fingerprint:
        raise Conflict(
            f"client_order_id {row['client_order_id']!r} was already used for a different order",
            field="client_order_id",
            order_id=str(row["order_id"]),
        )
    return Submitted(repository.order_from_row(row), created=False)


async def tick_size(rt: Runtime, symbol: str) -> Decimal:
    """The symbol's tick size (the replica's symbol cache); ``NotFound`` for an unknown symbol."""
    return (await get_symbol(rt, symbol)).tick_size


def resolve_client_order_id(order: NewOrder, idempotency_key: str | None) -> str:
    if order.client_order_id and idempotency_key and order.client_order_id != idempotency_key:
        raise InvalidInput(
            "Idempotency-Key differs from the body's client_order_id", field="Idempotency-Key"
        )
    resolved = order.client_order_id or idempotency_key
    if not resolved:
        raise InvalidInput(
            "client_order_id is required (or send an Idempotency-Key header)",
            field="client_order_id",
        )
    return resolved


def check_shape(order: NewOrder, tick: Decimal) -> None:
    if order.type.value == "LIMIT":
        if order.price is None:
            raise InvalidInput("price is required for a LIMIT order", field="price")
        if order.price % tick != 0:
            raise InvalidInput(f"price must be a multiple of the tick size {tick}", field="price")
    elif order.price is not None:
        raise InvalidInput("a MARKET order takes no price", field="price")


async def ask_risk(rt: Runtime, account_id: str, order: NewOrder) -> RiskVerdict:
    body = {
        "account_id": account_id,
        "symbol": order.symbol,
        "side": order.side.value,
        "type": order.type.value,
        "quantity": order.quantity,
        "price": money_str(order.price),
    }
    # Fail closed: DependencyUnavailable (503) propagates when risk is down or slow.
    response = await rt.client("risk").request(
        "POST", "/internal/checks", json=body, safe_on_connect=True
    )
    if response.status_code == 429:
        retry = response.headers.get("Retry-After", "1")
        raise RateLimited(
            "too many orders for this account; retry later",
            retry_after_s=float(retry) if retry.isdigit() else 1.0,
        )
    if response.status_code in (502, 503, 504):
        raise DependencyUnavailable(f"risk answered {response.status_code}", dependency="risk")
    if response.status_code != 200:
        raise UpstreamError(f"risk answered {response.status_code}: {response.text[:200]}")
    try:
        return RiskVerdict.model_validate_json(response.content)
    except ValueError as exc:
        raise UpstreamError(f"risk answered an unreadable verdict: {exc}") from exc


async def submit_order(
    rt: Runtime, account_id: str, order: NewOrder, idempotency_key: str | None
) -> Submitted:
    client_order_id = resolve_client_order_id(order, idempotency_key)
    fingerprint = request_fingerprint(order)
    async with rt.db.connection() as conn:
        existing = await repository.get_by_client_id(conn, account_id, client_order_id)
    if existing is not None:
        return _replay(existing, fingerprint)
    check_shape(order, await tick_size(rt, order.symbol))
    verdict = await ask_risk(rt, account_id, order)

    order_id = uuid.uuid4()
    status = "NEW" if verdict.allowed else "REJECTED"
    async with rt.db.transaction() as conn:
        if verdict.allowed:
            await lock_symbol(conn, order.symbol)
        row = await conn.fetchrow(
            "INSERT INTO orders (order_id, account_id, client_order_id, request_sha256, symbol, "
            "side, order_type, quantity, limit_price, status, reject_reason) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) "
            "ON CONFLICT (account_id, client_order_id) DO NOTHING "
            f"RETURNING {repository.ORDER_COLUMNS}",
            order_id, account_id, client_order_id, fingerprint, order.symbol, order.side.value,
            order.type.value, order.quantity, order.price, status, verdict.reason,
        )
        if row is None:  # a concurrent twin committed first
            twin = await repository.get_by_client_id(conn, account_id, client_order_id)
            assert twin is not None
            return _replay(twin, fingerprint)
        trades = []
        if verdict.allowed:
            outcome = await match(conn, Incoming(
                order_id, account_id, order.symbol, order.side.value, order.type.value,
                order.quantity,
                # A MARKET order trades no further than risk's protection price.
                order.price if order.price is not None else verdict.protection_price,
            ))
            trades = outcome.trades
            if outcome.updated is not None:
                row = outcome.updated
    if trades:
        rt.metrics.fills.labels(order.symbol).inc(2 * len(trades))  # a buy and a sell fill
    result = repository.order_from_row(row)
    rt.metrics.orders.labels(result.status.value, result.type.value).inc()
    return Submitted(result, created=True)


