"""risk's internal API: the pre-trade check and the halt switches."""

from __future__ import annotations

from fastapi import APIRouter, Response

from tradeplat import deadline
from tradeplat.errors import RateLimited
from tradeplat.money import CASH_ASSET
from tradeplat.schemas import HaltSwitch, RiskCheck, RiskVerdict
from tradeplat.services.risk.checks import CHECK_QUERY, evaluate, exposure_from_row
from tradeplat.services.risk.rate_limit import TAKE_TOKEN, wait_s
from tradeplat.web.deps import RuntimeDep

router = APIRouter(prefix="/internal", tags=["risk"])

#: ``TAKE_TOKEN`` ($1 account, $4 default rate) and ``CHECK_QUERY`` ($1 account,
#: $2 symbol, $3 cash asset) in one round trip: the row says whether a token was
#: granted, and holds the exposure (NULLs and ``symbol_found`` NULL for an unknown symbol).
CHECK_WITH_TOKEN = (
    f"WITH token AS ({TAKE_TOKEN.replace('$2', '$4')}) "
    f"SELECT token.granted, token.tokens, token.rate_per_s, exposure.* "
    f"FROM token LEFT JOIN ({CHECK_QUERY}) AS exposure ON true"
)


@router.post("/checks", response_model=RiskVerdict)
async def check_order(rt: RuntimeDep, check: RiskCheck) -> Response:
    defaults = rt.settings.risk_defaults
    # The check's statements are cut at the caller's deadline (orders' budget).
    # One statement: the token, then the exposure (read whether or not a token was
    # granted; only used when one was).
    async with deadline.enforced("database"), rt.db.connection() as conn:
        row = await conn.fetchrow(CHECK_WITH_TOKEN, check.account_id, check.symbol, CASH_ASSET,
                                  defaults.max_orders_per_second)
    assert row is not None
    wait = wait_s(row)
    if wait > 0:
        rt.metrics.risk_denials.labels("rate_limited").inc()
        raise RateLimited("too many orders for this account", retry_after_s=wait)
    exposure = exposure_from_row(row, check, defaults)
    verdict = evaluate(check, exposure, defaults.market_collar_pct)
    if not verdict.allowed:
        rt.metrics.risk_denials.labels(verdict.reason or "unknown").inc()
    # Serialised once and answered as is (FastAPI would validate the model again).
    return Response(RiskVerdict.__pydantic_serializer__.to_json(verdict),
                    media_type="application/json")


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
