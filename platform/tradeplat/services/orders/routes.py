"""orders' internal API (called by the gateway with ``X-Account-ID``)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Header, Query, Response, status

from tradeplat.errors import Conflict, NotFound
from tradeplat.schemas import (
    FillList,
    IdempotencyKey,
    NewOrder,
    Order,
    OrderList,
    OrderStatus,
    SymbolName,
)
from tradeplat.services.orders import repository
from tradeplat.services.orders.submission import submit_order
from tradeplat.web.deps import AccountDep, RuntimeDep

router = APIRouter(prefix="/internal/orders", tags=["orders"])

IdempotencyKeyHeader = Annotated[
    IdempotencyKey | None, Header(alias="Idempotency-Key", description="client order id")
]


@router.post("", status_code=status.HTTP_201_CREATED, response_model=Order)
async def create_order(
    rt: RuntimeDep,
    account_id: AccountDep,
    body: NewOrder,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response:
    result = await submit_order(rt, account_id, body, idempotency_key)
    headers = {} if result.created else {"Idempotent-Replayed": "true"}
    # Serialised once, by pydantic's core, and answered as is (no second pass by FastAPI).
    return Response(
        Order.__pydantic_serializer__.to_json(result.order),
        status_code=201 if result.created else 200,
        headers=headers, media_type="application/json",
    )


@router.get("", response_model=OrderList)
async def list_orders(
    rt: RuntimeDep,
    account_id: AccountDep,
    status_: Annotated[OrderStatus | None, Query(alias="status")] = None,
    symbol: SymbolName | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> OrderList:
    async with rt.db.connection() as conn:
        rows = await repository.list_orders(
            conn, account_id, status=status_.value if status_ else None, symbol=symbol,
            limit=limit,
        )
    return OrderList(orders=[repository.order_from_row(r) for r in rows])


@router.get("/{order_id}", response_model=Order)
async def get_order(rt: RuntimeDep, account_id: AccountDep, order_id: UUID) -> Order:
    async with rt.db.connection() as conn:
        row = await repository.get_order(conn, account_id, order_id)
    if row is None:
        raise NotFound(f"no order {order_id}", field="order_id")
    return repository.order_from_row(row)


@router.delete("/{order_id}", response_model=Order)
async def cancel_order(rt: RuntimeDep, account_id: AccountDep, order_id: UUID) -> Order:
    async with rt.db.connection() as conn:
        row = await repository.cancel_order(conn, account_id, order_id)
        if row is None:
            current = await repository.get_order(conn, account_id, order_id)
    if row is not None:
        return repository.order_from_row(row)
    if current is None:
        raise NotFound(f"no order {order_id}", field="order_id")
    raise Conflict(
        f"order {order_id} is {current['status']} and can no longer be canceled",
        field="order_id", status=current["status"],
    )


@router.get("/{order_id}/fills", response_model=FillList)
async def list_fills(rt: RuntimeDep, account_id: AccountDep, order_id: UUID) -> FillList:
    async with rt.db.connection() as conn:
        if await repository.get_order(conn, account_id, order_id) is None:
            raise NotFound(f"no order {order_id}", field="order_id")
        fills = await repository.list_fills(conn, account_id, order_id)
    return FillList(fills=fills)
