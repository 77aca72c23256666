"""Order submission: idempotency, then the pre-trade check and the insert under
one per-account lock, then matching.

1. A submission whose (account, client_order_id) exists is answered with the
   original order (replay) or 409 when the body differs (``request_sha256``),
   before any lock is taken: a retry never queues behind new orders. That read,
   the account lock below and a second read once it is held (a twin committed
   meanwhile) are one round trip: ``tradeplat_claim_submission`` (migration 0006),
   the transaction's first statement.
2. One transaction holds ``pg_advisory_xact_lock`` on the account (across every
   ``orders`` replica) while risk is asked and the order is inserted, so two
   orders of one account are checked one after the other, each seeing the
   other's committed order: together they can never exceed buying power or
   the position limit. risk is a separate service; the lock is held for at
   most one attempt's deadline of that call (the client is cut off there and
   the transaction rolls back, a 503), and the transaction's
   ``idle_in_transaction_session_timeout`` makes the server drop it shortly
   after should this process stall. Fail closed: when risk cannot answer,
   nothing is written. A denial is stored as a REJECTED order (201).
3. In the same transaction: the per-symbol advisory lock (always after the
   account lock, so the two never deadlock), ``INSERT … ON CONFLICT DO
   NOTHING``, matching, trades, fills and outbox events.

The caller's deadline (``X-Request-Timeout-Ms``, ``tradeplat.deadline``) bounds
it all: the wait for the account lock, the risk call and every later statement
of the transaction get at most what is left of it, and the transaction commits
only while time is left. Running out is a 503 ``deadline_exceeded`` with
nothing written, answered before the caller gives up: an order is never
created for a caller that has left.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import uuid
from dataclasses import dataclass
from decimal import Decimal

import asyncpg

from tradeplat import deadline
from tradeplat.errors import (
    Conflict,
    DatabaseUnavailable,
    DeadlineExceeded,
    DependencyUnavailable,
    InvalidInput,
    RateLimited,
    UpstreamError,
)
from tradeplat.money import money_str
from tradeplat.schemas import NewOrder, Order, RiskVerdict
from tradeplat.services.orders import repository
from tradeplat.services.orders.matching import (
    BATCH,
    MATCHING_LOCK_CLASS,
    Incoming,
    MatchOutcome,
    match,
)
from tradeplat.symbols import all_symbols, get_symbol
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


def shape_problem(order: NewOrder, tick: Decimal) -> InvalidInput | None:
    """What is wrong with the order's price given its type and tick size, if anything."""
    if order.type.value == "LIMIT":
        if order.price is None:
            return InvalidInput("price is required for a LIMIT order", field="price")
        if order.price % tick != 0:
            return InvalidInput(f"price must be a multiple of the tick size {tick}",
                                field="price")
    elif order.price is not None:
        return InvalidInput("a MARKET order takes no price", field="price")
    return None


def check_shape(order: NewOrder, tick: Decimal) -> None:
    problem = shape_problem(order, tick)
    if problem is not None:
        raise problem


#: Two-key advisory lock namespace of the per-account submission lock.
ACCOUNT_LOCK_CLASS = 0x6163  # 'ac'
#: How much longer than the risk call's deadline the server lets a stalled
#: transaction hold the account lock before it ends the session.
STALL_MARGIN_S = 1.0


def _ms(seconds: float) -> str:
    return str(max(1, int(seconds * 1000)))


#: Migration 0006: the (account, client order id) row, read before any lock; when
#: none and $6, the transaction's timeouts, the account lock and a second read.
_CLAIM_SUBMISSION = "SELECT * FROM tradeplat_claim_submission($1, $2, $3, $4, $5, $6)"


async def claim_submission(
    conn: asyncpg.Connection, account_id: str, client_order_id: str, hold_s: float,
    wait_s: float, *, take_lock: bool = True,
) -> asyncpg.Record | None:
    """In the submission's transaction, in one round trip: the order already stored
    under (``account_id``, ``client_order_id``), read before any lock (a retry never
    queues behind new orders); else, when ``take_lock``, serialize ``account_id``'s
    submissions until the transaction ends, and the order stored under that id once
    the lock is held (a twin committed while this one waited), if any.

    Waiting for the lock, and each later statement of the transaction, lasts
    at most ``wait_s`` (the database timeout, or less: what is left of the
    caller's deadline); the server ends a transaction left idle longer than
    ``hold_s`` (lock released)."""
    bounded_by_deadline = deadline.binds(wait_s)
    try:
        return await conn.fetchrow(
            _CLAIM_SUBMISSION, ACCOUNT_LOCK_CLASS, account_id, client_order_id,
            _ms(hold_s), _ms(wait_s), take_lock,
        )
    except asyncpg.LockNotAvailableError as exc:
        if bounded_by_deadline:
            raise DeadlineExceeded(
                "the caller's deadline passed while waiting for the account's previous order",
                dependency="database",
            ) from exc
        raise DatabaseUnavailable(
            "the account's previous order held its lock longer than the database timeout"
        ) from exc


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
    # The whole call, a retried connect included, ends at one attempt's deadline:
    # the caller holds the account lock meanwhile.
    client = rt.client("risk")
    deadline.check("risk")
    try:
        async with asyncio.timeout(deadline.bound(client.attempt_deadline_s())):
            response = await client.request(
                "POST", "/internal/checks", content=json.dumps(body).encode(),
                headers={"Content-Type": "application/json"}, safe_on_connect=True,
            )
    except TimeoutError:
        deadline.check("risk")
        raise DependencyUnavailable("risk timed out", dependency="risk") from None
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
    # The symbol is read from the replica's cache before a connection is taken
    # (a cache refresh takes a connection of its own).
    known = (await all_symbols(rt)).get(order.symbol)
    if known is not None:
        # One pooled connection; the idempotency check is the transaction's first
        # statement. A malformed price is answered after it (a replay wins), unlocked.
        problem = shape_problem(order, known.tick_size)
        async with rt.db.connection() as conn:
            return await _submit_new(rt, conn, account_id, client_order_id, fingerprint,
                                     order, problem)
    async with rt.db.connection() as conn:
        existing = await repository.get_by_client_id(conn, account_id, client_order_id)
    if existing is not None:
        return _replay(existing, fingerprint)
    # Not in the cache: a symbol added since is read afresh (NotFound when unknown).
    check_shape(order, await tick_size(rt, order.symbol))
    async with rt.db.connection() as conn:
        return await _submit_new(rt, conn, account_id, client_order_id, fingerprint, order)


async def _submit_new(
    rt: Runtime, conn: asyncpg.Connection, account_id: str, client_order_id: str,
    fingerprint: bytes, order: NewOrder, problem: InvalidInput | None = None,
) -> Submitted:
    hold_s = deadline.bound(rt.client("risk").attempt_deadline_s()) + STALL_MARGIN_S
    async with conn.transaction():
        existing = await claim_submission(conn, account_id, client_order_id, hold_s,
                                          deadline.bound(rt.db.timeout_s),
                                          take_lock=problem is None)
        if existing is not None:  # stored before, or committed while this one waited
            return _replay(existing, fingerprint)
        if problem is not None:
            raise problem
        verdict = await ask_risk(rt, account_id, order)
        row, outcome = await _insert_and_match(
            rt, conn, account_id, client_order_id, fingerprint, order, verdict
        )
        if outcome is None:  # a concurrent twin committed first
            return _replay(row, fingerprint)
        # The caller may have given up: roll back rather than create its order.
        deadline.check("orders")
    if outcome.trades:
        rt.metrics.fills.labels(order.symbol).inc(2 * len(outcome.trades))  # buy and sell fill
    result = repository.order_from_row(outcome.updated or row)
    rt.metrics.orders.labels(result.status.value, result.type.value).inc()
    return Submitted(result, created=True)


#: ``tradeplat_place_order`` (migration 0007): the order's row, then (allowed ones)
#: at most $15 resting orders it may trade with, in price-time priority, row-locked.
_PLACE_ORDER = (
    "SELECT * FROM tradeplat_place_order($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, "
    "$13, $14, $15)"
)


async def _insert_and_match(
    rt: Runtime, conn: asyncpg.Connection, account_id: str, client_order_id: str,
    fingerprint: bytes, order: NewOrder, verdict: RiskVerdict,
) -> tuple[asyncpg.Record, MatchOutcome | None]:
    """Insert the order (and match it when allowed); (the twin's row, None) when
    the (account, client_order_id) exists already."""
    order_id = uuid.uuid4()
    # A MARKET order trades no further than risk's protection price.
    match_price = order.price if order.price is not None else verdict.protection_price
    # Migration 0007: an allowed order takes the symbol's matching lock before its
    # row (and its time priority, ``seq``) is made; its row, then the first batch of
    # the book it may trade with, in one round trip.
    rows = await conn.fetch(
        _PLACE_ORDER,
        order_id, account_id, client_order_id, fingerprint, order.symbol, order.side.value,
        order.type.value, order.quantity, order.price,
        "NEW" if verdict.allowed else "REJECTED", verdict.reason,
        verdict.allowed, MATCHING_LOCK_CLASS, match_price, BATCH,
    )
    if not rows:
        twin = await repository.get_by_client_id(conn, account_id, client_order_id)
        assert twin is not None
        return twin, None
    row = rows[0]
    if not verdict.allowed:
        return row, MatchOutcome([], None)
    outcome = await match(conn, Incoming(
        order_id, account_id, order.symbol, order.side.value, order.type.value,
        order.quantity, match_price,
    ), self_trade_prevention=rt.settings.self_trade_prevention, first_batch=rows[1:])
    return row, outcome
