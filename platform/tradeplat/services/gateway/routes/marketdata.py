"""``/v1/marketdata``: symbols, quotes and candles."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response

from tradeplat.schemas import CandleSeries, ErrorBody, Quote, SymbolList, SymbolName
from tradeplat.services.gateway.auth import AccountIdDep
from tradeplat.services.gateway.forwarding import forward
from tradeplat.web.deps import RuntimeDep

router = APIRouter(prefix="/v1/marketdata", tags=["marketdata"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "missing or unknown API key"},
    404: {"model": ErrorBody, "description": "unknown symbol"},
    503: {"model": ErrorBody, "description": "a dependency is down; retry later"},
}


@router.get("/symbols", response_model=SymbolList, responses=_ERRORS)
async def list_symbols(rt: RuntimeDep, account_id: AccountIdDep) -> Response:
    return await forward(rt.client("marketdata"), "GET", "/internal/symbols")


@router.get("/quotes/{symbol}", response_model=Quote, responses=_ERRORS)
async def get_quote(rt: RuntimeDep, account_id: AccountIdDep, symbol: SymbolName) -> Response:
    return await forward(rt.client("marketdata"), "GET", f"/internal/quotes/{symbol}")


@router.get("/candles/{symbol}", response_model=CandleSeries, responses=_ERRORS)
async def get_candles(
    rt: RuntimeDep,
    account_id: AccountIdDep,
    symbol: SymbolName,
    interval: Literal["1s", "1m", "5m"] = "1m",
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> Response:
    return await forward(
        rt.client("marketdata"), "GET", f"/internal/candles/{symbol}",
        params={"interval": interval, "limit": limit},
    )
