"""``/v1/orders``: submit, list, read, cancel, fills."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Header, Query, Response, status

from tradeplat.schemas import (
    ErrorBody,
    FillList,
    IdempotencyKey,
    NewOrder,
    Order,
    OrderList,
    OrderStatus,
    SymbolName,
)
from tradeplat.services.gateway.auth import AccountIdDep
from tradeplat.services.gateway.forwarding import forward
from tradeplat.web.deps import RuntimeDep

router = APIRouter(prefix="/v1/orders", tags=["orders"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "missing or unknown API key"},
    404: {"model": ErrorBody, "description": "unknown order or symbol"},
    503: {"model": ErrorBody, "description": "a dependency is down; retry later"},
}


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=Order,
    responses={
        200: {"model": Order, "description": "replay of the original submission"},
        409: {"model": ErrorBody, "description": "client_order_id reused with another body"},
        429: {"model": ErrorBody, "description": "rate limited (Retry-After); no order created"},
        **_ERRORS,
    },
    summary="Submit an order (idempotent on client_order_id / Idempotency-Key)",
)
async def submit_order(
    rt: RuntimeDep,
    account_id: AccountIdDep,
    body: NewOrder,
    idempotency_key: Annotated[IdempotencyKey | None, Header(
        alias="Idempotency-Key", include_in_schema=False,
        description="legacy: stands for a missing client_order_id")] = None,
) -> Response:
    headers = {"Content-Type": "application/json"}
    if idempotency_key:
        headers["Idempotency-Key"] = idempotency_key
    # The submission is idempotent on its client order id, so a connection that
    # could not be opened is retried; its budget covers orders' own call to risk.
    return await forward(
        rt.client("orders"), "POST", "/internal/orders", account_id=account_id,
        content=body.__pydantic_serializer__.to_json(body, exclude_none=True),
        headers=headers,
        timeout_s=rt.settings.call_timeout_s * 2, safe_on_connect=True,
    )


@router.get("", response_model=OrderList, responses=_ERRORS, summary="List orders, newest first")
async def list_orders(
    rt: RuntimeDep,
    account_id: AccountIdDep,
    status_: Annotated[OrderStatus | None, Query(alias="status")] = None,
    symbol: SymbolName | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> Response:
    params = {"status": status_.value if status_ else None, "symbol": symbol, "limit": limit}
    return await forward(
        rt.client("orders"), "GET", "/internal/orders", account_id=account_id, params=params
    )


@router.get("/{order_id}", response_model=Order, responses=_ERRORS, summary="Read one order")
async def get_order(rt: RuntimeDep, account_id: AccountIdDep, order_id: UUID) -> Response:
    return await forward(
        rt.client("orders"), "GET", f"/internal/orders/{order_id}", account_id=account_id
    )


@router.delete(
    "/{order_id}",
    response_model=Order,
    responses={409: {"model": ErrorBody, "description": "order no longer open"}, **_ERRORS},
    summary="Cancel an open order",
)
async def cancel_order(rt: RuntimeDep, account_id: AccountIdDep, order_id: UUID) -> Response:
    return await forward(
        rt.client("orders"), "DELETE", f"/internal/orders/{order_id}", account_id=account_id,
        safe_on_connect=True,
    )


@router.get(
    "/{order_id}/fills", response_model=FillList, responses=_ERRORS, summary="Fills of an order"
)
async def list_fills(rt: RuntimeDep, account_id: AccountIdDep, order_id: UUID) -> Response:
    return await forward(
        rt.client("orders"), "GET", f"/internal/orders/{order_id}/fills", account_id=account_id
    )
