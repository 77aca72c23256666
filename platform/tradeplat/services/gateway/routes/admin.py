"""``/v1/admin``: accounts and halt switches (header ``X-Admin-Key``)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response, status

from tradeplat.accounts import (
    Limits,
    create_account,
    revoke_api_key,
    rotate_api_key,
    unknown_symbols,
)
from tradeplat.errors import NotFound
from tradeplat.schemas import (
    AccountId,
    CreatedAccountOut,
    ErrorBody,
    HaltSwitch,
    NewAccount,
    SymbolName,
)
from tradeplat.services.gateway.auth import AdminDep, forget_account
from tradeplat.services.gateway.forwarding import forward
from tradeplat.web.deps import RuntimeDep

router = APIRouter(prefix="/v1/admin", tags=["admin"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "missing or wrong admin key"},
    403: {"model": ErrorBody, "description": "admin routes disabled"},
    503: {"model": ErrorBody, "description": "a dependency is down; retry later"},
}
_ACCOUNT_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorBody, "description": "unknown account"}, **_ERRORS,
}


@router.post(
    "/accounts",
    status_code=status.HTTP_201_CREATED,
    response_model=CreatedAccountOut,
    responses={404: {"model": ErrorBody, "description": "unknown symbol"}, **_ERRORS},
    summary="Create and fund an account; the API key is shown once",
)
async def create_account_route(
    rt: RuntimeDep, _admin: AdminDep, body: NewAccount
) -> CreatedAccountOut:
    d = rt.settings.risk_defaults
    limits = Limits(
        max_order_notional=body.max_order_notional or d.max_order_notional,
        max_position=body.max_position or d.max_position,
        max_orders_per_second=body.max_orders_per_second or d.max_orders_per_second,
    )
    async with rt.db.connection() as conn:
        missing = await unknown_symbols(conn, list(body.positions))
        if missing:
            raise NotFound(f"unknown symbol {missing[0]!r}", field=f"positions.{missing[0]}")
        created = await create_account(
            conn, name=body.name, cash=body.cash, positions=body.positions, limits=limits
        )
    return CreatedAccountOut(account_id=created.account_id, api_key=created.api_key)


@router.post(
    "/accounts/{account_id}/api-key",
    response_model=CreatedAccountOut,
    responses=_ACCOUNT_ERRORS,
    summary="Rotate an account's API key: the new key is shown once, the old one stops working",
)
async def rotate_key_route(
    rt: RuntimeDep, _admin: AdminDep, account_id: AccountId
) -> CreatedAccountOut:
    async with rt.db.connection() as conn:
        api_key = await rotate_api_key(conn, account_id)
    forget_account(rt, account_id)
    return CreatedAccountOut(account_id=account_id, api_key=api_key)


@router.delete(
    "/accounts/{account_id}/api-key",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=_ACCOUNT_ERRORS,
    summary="Revoke an account's API key (no key works until the next rotation)",
)
async def revoke_key_route(rt: RuntimeDep, _admin: AdminDep, account_id: AccountId) -> Response:
    async with rt.db.connection() as conn:
        await revoke_api_key(conn, account_id)
    forget_account(rt, account_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.put("/halt", response_model=HaltSwitch, responses=_ERRORS, summary="Halt all trading")
async def set_halt(rt: RuntimeDep, _admin: AdminDep, body: HaltSwitch) -> Response:
    return await forward(rt.client("risk"), "PUT", "/internal/halt", json=body.model_dump())


@router.put(
    "/symbols/{symbol}/halt",
    response_model=HaltSwitch,
    responses={404: {"model": ErrorBody, "description": "unknown symbol"}, **_ERRORS},
    summary="Halt or resume one symbol",
)
async def set_symbol_halt(
    rt: RuntimeDep, _admin: AdminDep, symbol: SymbolName, body: HaltSwitch
) -> Response:
    return await forward(
        rt.client("marketdata"), "PUT", f"/internal/symbols/{symbol}/halt", json=body.model_dump()
    )
