"""risk's internal API: the pre-trade check and the halt switches."""

from __future__ import annotations

from fastapi import APIRouter

from tradeplat import deadline
from tradeplat.errors import RateLimited
from tradeplat.schemas import HaltSwitch, RiskCheck, RiskVerdict
from tradeplat.services.risk.checks import evaluate, load_exposure
from tradeplat.services.risk.rate_limit import take_token
from tradeplat.web.deps import RuntimeDep

router = APIRouter(prefix="/internal", tags=["risk"])


@router.post("/checks", response_model=RiskVerdict)
async def check_order(rt: RuntimeDep, check: RiskCheck) -> RiskVerdict:
    defaults = rt.settings.risk_defaults
    # The check's statements are cut at the caller's deadline (orders' budget).
    async with deadline.enforced("database"), rt.db.connection() as conn:
        wait_s = await take_token(conn, check.account_id, defaults.max_orders_per_second)
        if wait_s > 0:
            rt.metrics.risk_denials.labels("rate_limited").inc()
            raise RateLimited("too many orders for this account", retry_after_s=wait_s)
        exposure = await load_exposure(conn, check, defaults)
    verdict = evaluate(check, exposure, defaults.market_collar_pct)
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
