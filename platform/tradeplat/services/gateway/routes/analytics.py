"""``/v1/analytics``: CPU-heavy risk metrics (cost grows with ``window``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from tradeplat.schemas import ErrorBody, RiskMetrics, SymbolName
from tradeplat.services.gateway.auth import AccountIdDep
from tradeplat.services.gateway.forwarding import forward
from tradeplat.web.deps import RuntimeDep

router = APIRouter(prefix="/v1/analytics", tags=["analytics"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "missing or unknown API key"},
    404: {"model": ErrorBody, "description": "unknown symbol"},
    503: {"model": ErrorBody, "description": "a dependency is down; retry later"},
}

#: A computation over 5000 points takes seconds of CPU: a longer budget than
#: the default call timeout, still bounded.
ANALYTICS_TIMEOUT_FACTOR = 5


@router.get("/risk/{symbol}", response_model=RiskMetrics, responses=_ERRORS)
async def get_risk(
    rt: RuntimeDep,
    account_id: AccountIdDep,
    symbol: SymbolName,
    window: Annotated[int, Query(ge=10, le=5000, description="price points")] = 300,
) -> Response:
    return await forward(
        rt.client("analytics"), "GET", f"/internal/risk/{symbol}", params={"window": window},
        timeout_s=rt.settings.call_timeout_s * ANALYTICS_TIMEOUT_FACTOR,
    )
