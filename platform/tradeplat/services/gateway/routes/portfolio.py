"""``/v1/portfolio``: cash, positions and the ledger of the caller's account."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from tradeplat.schemas import ErrorBody, LedgerPage, Portfolio
from tradeplat.services.gateway.auth import AccountIdDep
from tradeplat.services.gateway.forwarding import forward
from tradeplat.web.deps import RuntimeDep

router = APIRouter(prefix="/v1/portfolio", tags=["portfolio"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "missing or unknown API key"},
    503: {"model": ErrorBody, "description": "a dependency is down; retry later"},
}


@router.get("", response_model=Portfolio, responses=_ERRORS)
async def get_portfolio(rt: RuntimeDep, account_id: AccountIdDep) -> Response:
    return await forward(
        rt.client("portfolio"), "GET", "/internal/portfolio", account_id=account_id
    )


@router.get("/ledger", response_model=LedgerPage, responses=_ERRORS)
async def get_ledger(
    rt: RuntimeDep, account_id: AccountIdDep, limit: Annotated[int, Query(ge=1, le=1000)] = 100
) -> Response:
    return await forward(
        rt.client("portfolio"), "GET", "/internal/portfolio/ledger", account_id=account_id,
        params={"limit": limit},
    )
