"""analytics' internal API: risk metrics of a symbol over a price window.

A computation is bounded by the caller's deadline (``X-Request-Timeout-Ms``) or,
without one, by the replica's own limit (``OWN_LIMIT_FACTOR`` × the call
timeout, what the gateway grants it): the worker thread looks at the clock
throughout and stops when the time is spent, answering ``503 deadline_exceeded``,
so no CPU goes to an answer nobody waits for. A request that cannot end in time
is refused before it starts (``capacity.py``).
"""

from __future__ import annotations

import time
from typing import Annotated

import anyio
from fastapi import APIRouter, Query

from tradeplat import deadline
from tradeplat.errors import DeadlineExceeded
from tradeplat.schemas import RiskMetrics, SymbolName
from tradeplat.services.analytics.capacity import ComputeCapacity
from tradeplat.services.analytics.riskmetrics import ComputationStopped, compute
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
#: Without a caller's deadline, a computation stops after this many call timeouts.
OWN_LIMIT_FACTOR = 5
#: Time kept back from the deadline for a stopped computation to be answered.
STOP_MARGIN_S = 0.3


def _capacity(rt: Runtime) -> ComputeCapacity:
    capacity = rt.state.get("cpu_capacity")
    if capacity is None:
        capacity = rt.state["cpu_capacity"] = ComputeCapacity(CONCURRENT_COMPUTATIONS)
    return capacity  # type: ignore[no-any-return]


@router.get("/risk/{symbol}", response_model=RiskMetrics)
async def risk_metrics(
    rt: RuntimeDep,
    symbol: SymbolName,
    window: Annotated[int, Query(ge=10, le=5000, description="price points")] = 300,
) -> RiskMetrics:
    row = await get_symbol(rt, symbol)
    simulator = rt.state.setdefault("simulator", PriceSimulator(rt.settings.seed))
    end = int(time.time())
    left_s = deadline.bound(rt.settings.call_timeout_s * OWN_LIMIT_FACTOR)
    deadline.check("analytics")
    capacity = _capacity(rt)
    estimate_s = capacity.admit(window, left_s, MAX_WAITING)
    # the worker looks at the clock every few milliseconds and the answer still has to
    # leave: stop a little before the deadline, so the 503 reaches the caller in time
    stop_at = time.monotonic() + left_s - min(STOP_MARGIN_S, left_s / 10)
    cpu = [0.0]
    ran = [0.0, 1.0]  # wall seconds, computations running beside it (itself included)

    def work() -> dict[str, str]:
        started, wall = time.thread_time(), time.perf_counter()
        first = capacity.started()
        try:
            prices = simulator.series(symbol, row.reference_price, row.tick_size, end, window)
            result = compute(prices, stop_at=stop_at)
            result["last_price"] = str(prices[-1])
            return result
        finally:
            ran[0], ran[1] = time.perf_counter() - wall, (first + capacity.running) / 2
            capacity.running -= 1
            cpu[0] = time.thread_time() - started

    ran_s: float | None = None
    started = time.perf_counter()
    try:
        result = await anyio.to_thread.run_sync(work, limiter=capacity.limiter)
        ran_s = ran[0]
    except ComputationStopped:
        raise DeadlineExceeded(
            f"the computation over {window} points did not end within the "
            f"{left_s:.2f} s left; stopped", dependency="computation") from None
    finally:
        capacity.done(estimate_s, window, ran_s, beside=ran[1])
        # every computation that started is counted, those stopped early too
        if cpu[0] > 0:
            rt.metrics.analytics_seconds.observe(cpu[0])
    return RiskMetrics(
        symbol=symbol, window=window, compute_ms=round((time.perf_counter() - started) * 1000, 2),
        **result,
    )
