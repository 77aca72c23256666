"""analytics' internal API: risk metrics of a symbol over a price window."""

from __future__ import annotations

import time
from typing import Annotated

import anyio
from fastapi import APIRouter, Query

from tradeplat.errors import Overloaded
from tradeplat.schemas import RiskMetrics, SymbolName
from tradeplat.services.analytics.riskmetrics import compute
from tradeplat.simulator import PriceSimulator
from tradeplat.symbols import get_symbol
from tradeplat.web.deps import RuntimeDep
from tradeplat.web.runtime import Runtime

router = APIRouter(prefix="/internal", tags=["analytics"])

#: Computations run in worker threads, at most this many at once per replica,
#: so the event loop keeps answering /healthz and /readyz under load.
CONCURRENT_COMPUTATIONS = 2
#: Beyond this many computations waiting, answer 503 at once (shed load) rather
#: than let the queue and every caller's latency grow without bound.
MAX_WAITING = 16


def _limiter(rt: Runtime) -> anyio.CapacityLimiter:
    limiter = rt.state.get("cpu_limiter")
    if limiter is None:
        limiter = rt.state["cpu_limiter"] = anyio.CapacityLimiter(CONCURRENT_COMPUTATIONS)
    return limiter  # type: ignore[no-any-return]


@router.get("/risk/{symbol}", response_model=RiskMetrics)
async def risk_metrics(
    rt: RuntimeDep,
    symbol: SymbolName,
    window: Annotated[int, Query(ge=10, le=5000, description="price points")] = 300,
) -> RiskMetrics:
    row = await get_symbol(rt, symbol)
    simulator = rt.state.setdefault("simulator", PriceSimulator(rt.settings.seed))
    end = int(time.time())

    def work() -> tuple[dict[str, str], float]:
        started = time.process_time()
        prices = simulator.series(symbol, row.reference_price, row.tick_size, end, window)
        result = compute(prices)
        result["last_price"] = str(prices[-1])
        return result, time.process_time() - started

    limiter = _limiter(rt)
    if limiter.statistics().tasks_waiting >= MAX_WAITING:
        raise Overloaded(f"{MAX_WAITING} computations already waiting; retry later")
    wall = time.perf_counter()
    result, cpu_s = await anyio.to_thread.run_sync(work, limiter=limiter)
    rt.metrics.analytics_seconds.observe(cpu_s)
    return RiskMetrics(
        symbol=symbol, window=window, compute_ms=round((time.perf_counter() - wall) * 1000, 2),
        **result,
    )
