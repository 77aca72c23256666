"""marketdata's internal API: symbols, quotes, candles, per-symbol halt."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query

from tradeplat.schemas import (
    Candle,
    CandleSeries,
    HaltSwitch,
    Quote,
    SymbolInfo,
    SymbolList,
    SymbolName,
)
from tradeplat.simulator import PriceSimulator
from tradeplat.symbols import all_symbols, get_symbol
from tradeplat.web.deps import RuntimeDep
from tradeplat.web.runtime import Runtime

router = APIRouter(prefix="/internal", tags=["marketdata"])

INTERVAL_SECONDS = {"1s": 1, "1m": 60, "5m": 300}
Interval = Literal["1s", "1m", "5m"]


def simulator(rt: Runtime) -> PriceSimulator:
    sim = rt.state.get("simulator")
    if sim is None:
        sim = rt.state["simulator"] = PriceSimulator(rt.settings.seed)
    return sim  # type: ignore[no-any-return]


async def current_quote(rt: Runtime, symbol: str) -> Quote:
    row = await get_symbol(rt, symbol)
    second = int(time.time())
    last = simulator(rt).price(symbol, row.reference_price, row.tick_size, second)
    return Quote(
        symbol=symbol,
        bid=max(row.tick_size, last - row.tick_size),
        ask=last + row.tick_size,
        last=last,
        ts=datetime.fromtimestamp(second, UTC),
    )


@router.get("/symbols", response_model=SymbolList)
async def list_symbols(rt: RuntimeDep) -> SymbolList:
    rows = await all_symbols(rt)
    return SymbolList(symbols=[SymbolInfo(**vars(r)) for r in rows.values()])


@router.get("/quotes/{symbol}", response_model=Quote)
async def get_quote(rt: RuntimeDep, symbol: SymbolName) -> Quote:
    return await current_quote(rt, symbol)


@router.get("/candles/{symbol}", response_model=CandleSeries)
async def get_candles(
    rt: RuntimeDep,
    symbol: SymbolName,
    interval: Interval = "1m",
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> CandleSeries:
    await get_symbol(rt, symbol)
    step = INTERVAL_SECONDS[interval]
    rows = await rt.db.fetch(
        """
        SELECT to_timestamp(floor(extract(epoch FROM executed_at) / $2) * $2) AS ts,
               (array_agg(price ORDER BY seq))[1]      AS open,
               max(price)                              AS high,
               min(price)                              AS low,
               (array_agg(price ORDER BY seq DESC))[1] AS close,
               sum(quantity)                           AS volume
        FROM trades
        WHERE symbol = $1 AND executed_at >= clock_timestamp() - make_interval(secs => $2 * $3)
        GROUP BY 1 ORDER BY 1 DESC LIMIT $3
        """,
        symbol, step, limit,
    )
    candles = [Candle(**dict(r)) for r in reversed(rows)]
    return CandleSeries(symbol=symbol, interval=interval, candles=candles)


@router.put("/symbols/{symbol}/halt", response_model=HaltSwitch)
async def set_symbol_halt(rt: RuntimeDep, symbol: SymbolName, body: HaltSwitch) -> HaltSwitch:
    await get_symbol(rt, symbol)
    halted = await rt.db.fetchval(
        "UPDATE symbols SET trading_halted = $2 WHERE symbol = $1 RETURNING trading_halted",
        symbol, body.halted,
    )
    await all_symbols(rt, fresh=True)
    return HaltSwitch(halted=bool(halted))
