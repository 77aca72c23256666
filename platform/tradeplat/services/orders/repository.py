"""SQL of the orders service: orders, fills and the outbox's health."""

from __future__ import annotations

from uuid import UUID

import asyncpg

from tradeplat.schemas import Fill, Order

ORDER_COLUMNS = (
    "order_id, client_order_id, account_id, symbol, side, order_type, quantity, limit_price, "
    "filled_quantity, status, reject_reason, created_at, updated_at, request_sha256"
)


def order_from_row(row: asyncpg.Record) -> Order:
    return Order(
        order_id=row["order_id"],
        client_order_id=row["client_order_id"],
        account_id=row["account_id"],
        symbol=row["symbol"],
        side=row["side"],
        type=row["order_type"],
        quantity=row["quantity"],
        price=row["limit_price"],
        filled_quantity=row["filled_quantity"],
        status=row["status"],
        reject_reason=row["reject_reason"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


async def get_by_client_id(
    conn: asyncpg.Connection, account_id: str, client_order_id: str
) -> asyncpg.Record | None:
    return await conn.fetchrow(
        f"SELECT {ORDER_COLUMNS} FROM orders WHERE account_id = $1 AND client_order_id = $2",
        account_id, client_order_id,
    )


async def get_order(
    conn: asyncpg.Connection, account_id: str, order_id: UUID
) -> asyncpg.Record | None:
    return await conn.fetchrow(
        f"SELECT {ORDER_COLUMNS} FROM orders WHERE order_id = $1 AND account_id = $2",
        order_id, account_id,
    )


async def list_orders(
    conn: asyncpg.Connection, account_id: str, *, status: str | None, symbol: str | None,
    limit: int,
) -> list[asyncpg.Record]:
    return await conn.fetch(
        f"SELECT {ORDER_COLUMNS} FROM orders WHERE account_id = $1 "
        "AND ($2::text IS NULL OR status = $2) AND ($3::text IS NULL OR symbol = $3) "
        "ORDER BY seq DESC LIMIT $4",
        account_id, status, symbol, limit,
    )


async def cancel_order(
    conn: asyncpg.Connection, account_id: str, order_id: UUID
) -> asyncpg.Record | None:
    """Cancel an open order; None when it is not open (or not this account's)."""
    return await conn.fetchrow(
        "UPDATE orders SET status = 'CANCELED', updated_at = clock_timestamp() "
        "WHERE order_id = $1 AND account_id = $2 AND status IN ('NEW', 'PARTIALLY_FILLED') "
        f"RETURNING {ORDER_COLUMNS}",
        order_id, account_id,
    )


async def list_fills(conn: asyncpg.Connection, account_id: str, order_id: UUID) -> list[Fill]:
    rows = await conn.fetch(
        "SELECT fill_id, trade_id, order_id, symbol, side, price, quantity, executed_at "
        "FROM fills WHERE order_id = $1 AND account_id = $2 ORDER BY executed_at, fill_id",
        order_id, account_id,
    )
    return [Fill(**dict(r)) for r in rows]


async def outbox_health(conn: asyncpg.Connection) -> tuple[int, float]:
    """(pending events, age in seconds of the oldest pending one, 0 when none)."""
    row = await conn.fetchrow(
        "SELECT count(*) AS pending, "
        "COALESCE(EXTRACT(EPOCH FROM clock_timestamp() - min(created_at)), 0) AS lag "
        "FROM outbox WHERE delivered_at IS NULL"
    )
    assert row is not None
    return int(row["pending"]), float(row["lag"])
