"""Account creation: the account, its API key, its limits and its deposit journal.

Used by the gateway's admin route and by ``tradeplat seed``. The deposit is a
balanced journal against the ``EXTERNAL`` account (cash and each symbol's
shares), written in the same transaction as the account, so every asset sums
to zero over all accounts from the first moment.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

import asyncpg

from tradeplat.errors import NotFound
from tradeplat.money import CASH_ASSET, EXTERNAL_ACCOUNT, quantize


def hash_api_key(api_key: str) -> bytes:
    return hashlib.sha256(api_key.encode("utf-8")).digest()


def new_api_key() -> str:
    return "tp_" + secrets.token_urlsafe(32)


@dataclass(frozen=True)
class Limits:
    max_order_notional: Decimal
    max_position: int
    max_orders_per_second: int


@dataclass(frozen=True)
class CreatedAccount:
    account_id: str
    name: str
    api_key: str


async def post_deposit(
    conn: asyncpg.Connection, account_id: str, cash: Decimal, positions: Mapping[str, int]
) -> None:
    """Post one DEPOSIT journal (account +, EXTERNAL −) and update balances."""
    legs: list[tuple[str, Decimal]] = []
    if cash:
        legs.append((CASH_ASSET, quantize(cash)))
    legs.extend((symbol, Decimal(qty)) for symbol, qty in sorted(positions.items()) if qty)
    if not legs:
        return
    journal_id = uuid.uuid4()
    rows = []
    for asset, amount in legs:
        rows.append((journal_id, account_id, asset, amount))
        rows.append((journal_id, EXTERNAL_ACCOUNT, asset, -amount))
    await conn.executemany(
        "INSERT INTO ledger_entries (journal_id, kind, account_id, asset, amount) "
        "VALUES ($1, 'DEPOSIT', $2, $3, $4)",
        rows,
    )
    # Sorted (account, asset) order: concurrent writers lock rows in one order.
    await conn.executemany(
        "INSERT INTO balances AS b (account_id, asset, amount) VALUES ($1, $2, $3) "
        "ON CONFLICT (account_id, asset) DO UPDATE SET amount = b.amount + EXCLUDED.amount, "
        "updated_at = clock_timestamp()",
        sorted((acc, asset, amount) for _, acc, asset, amount in rows),
    )


async def create_account(
    conn: asyncpg.Connection,
    *,
    name: str,
    cash: Decimal,
    positions: Mapping[str, int],
    limits: Limits,
) -> CreatedAccount:
    """Create an account with a fresh API key (shown once) and fund it."""
    account_id = str(uuid.uuid4())
    api_key = new_api_key()
    async with conn.transaction():
        await conn.execute(
            "INSERT INTO accounts (account_id, name, api_key_sha256) VALUES ($1, $2, $3)",
            account_id, name, hash_api_key(api_key),
        )
        await conn.execute(
            "INSERT INTO risk_limits (account_id, max_order_notional, max_position, "
            "max_orders_per_second) VALUES ($1, $2, $3, $4)",
            account_id, limits.max_order_notional, limits.max_position,
            limits.max_orders_per_second,
        )
        await post_deposit(conn, account_id, cash, positions)
    return CreatedAccount(account_id=account_id, name=name, api_key=api_key)


#: PostgreSQL NOTIFY channel: an account's API key changed (payload: its account id).
#: Every gateway replica listens and forgets its cached answers for that account.
API_KEY_CHANNEL = "tradeplat_api_keys"


async def _replace_key_hash(conn: asyncpg.Connection, account_id: str, digest: bytes) -> None:
    # The notification leaves with the commit of the change, never without it.
    changed = await conn.fetch(
        "WITH changed AS (UPDATE accounts SET api_key_sha256 = $2 WHERE account_id = $1 "
        "RETURNING account_id) SELECT pg_notify($3, account_id) FROM changed",
        account_id, digest, API_KEY_CHANNEL,
    )
    if not changed:
        raise NotFound(f"no account {account_id}", field="account_id")


async def rotate_api_key(conn: asyncpg.Connection, account_id: str) -> str:
    """Give an existing account a new key (the old one stops working); ``NotFound``
    for an unknown account."""
    api_key = new_api_key()
    await _replace_key_hash(conn, account_id, hash_api_key(api_key))
    return api_key


async def revoke_api_key(conn: asyncpg.Connection, account_id: str) -> None:
    """Leave the account without a working key (the stored hash is of a secret
    nobody is shown); ``NotFound`` for an unknown account."""
    await _replace_key_hash(conn, account_id, hash_api_key(new_api_key()))


async def unknown_symbols(conn: asyncpg.Connection, symbols: list[str]) -> list[str]:
    if not symbols:
        return []
    known = {
        r["symbol"]
        for r in await conn.fetch("SELECT symbol FROM symbols WHERE symbol = ANY($1)", symbols)
    }
    return sorted(set(symbols) - known)
