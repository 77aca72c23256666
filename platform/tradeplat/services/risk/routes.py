"""risk's internal API: the pre-trade check and the halt switches."""

from __future__ import annotations

import time

from fastapi import APIRouter

from tradeplat.errors import RateLimited
from tradeplat.schemas import HaltSwitch, RiskCheck, RiskVerdict
from tradeplat.services.risk.checks import evaluate, load_exposure
from tradeplat.services.risk.rate_limit import TokenBuckets
from tradeplat.web.deps import RuntimeDep
from tradeplat.web.runtime import Runtime

router = APIRouter(prefix="/internal", tags=["risk"])

LIMIT_CACHE_TTL_S = 5.0


async def _orders_per_second(rt: Runtime, account_id: str) -> int:
    """The account's rate limit (cached briefly so throttling costs no query)."""
    cache: dict[str, tuple[float, int]] = rt.state.setdefault("rate_limits", {})
    now = time.monotonic()
    hit = cache.get(account_id)
    if hit is not None and now - hit[0] < LIMIT_CACHE_TTL_S:
        return hit[1]
    value = await rt.db.fetchval(
        "SELECT max_orders_per_second FROM risk_limits WHERE account_id = $1", account_id
    )
    limit = int(value) if value else rt.settings.risk_defaults.max_orders_per_second
    if len(cache) > 100_000:
        cache.clear()
    cache[account_id] = (now, limit)
    return limit


@router.post("/checks", response_model=RiskVerdict)
async def check_order(rt: RuntimeDep, check: RiskCheck) -> RiskVerdict:
    buckets: TokenBuckets = rt.state.setdefault("buckets", TokenBuckets())
    wait_s = buckets.take(check.account_id, await _orders_per_second(rt, check.account_id))
    if wait_s > 0:
        rt.metrics.risk_denials.labels("rate_limited").inc()
        raise RateLimited("too many orders for this account", retry_after_s=wait_s)
    async with rt.db.connection() as conn:
        exposure = await load_exposure(conn, check, rt.settings.risk_defaults)
    verdict = evaluate(check, exposure, rt.settings.risk_defaults.market_collar_pct)
    if not verdict.allowed:
        rt.metrics.risk_denials.labels(verdict.reason or "unknown").inc()
    return verdict


@router.get("/halt", response_model=HaltSwitch)
async def get_halt(rt: RuntimeDep) -> HaltSwitch:
    halted = await rt.db.fetchval("SELECT trading_halted FROM risk_settings WHERE id = 1")
    return HaltSwitch(halted=bool(halted))


@router.put("/halt", response_model=HaltSwitch)
async def set_halt(rt: RuntimeDep, body: HaltSwitch) -> HaltSwitch:
    halted = await rt.db.fetchval(
        "UPDATE risk_settings SET trading_halted = $1, updated_at = clock_timestamp() "
        "WHERE id = 1 RETURNING trading_halted",
        body.halted,
    )
    return HaltSwitch(halted=bool(halted))
