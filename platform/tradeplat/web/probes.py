"""``/healthz``, ``/readyz`` and ``/metrics``, served by every service."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from tradeplat.web.deps import RuntimeDep

router = APIRouter(tags=["probes"], include_in_schema=False)


@router.get("/healthz")
async def healthz(rt: RuntimeDep) -> dict[str, object]:
    return {"status": "ok", "service": rt.service, "replica": rt.settings.replica}


@router.get("/readyz")
async def readyz(rt: RuntimeDep) -> JSONResponse:
    checks: dict[str, bool] = {}
    checks["migrations"] = rt.migrated.is_set()
    checks["database"] = checks["migrations"] and await rt.db.ping(
        timeout_s=min(1.0, rt.settings.db_timeout_s)
    )
    rt.metrics.dependency_up.labels("database").set(1 if checks["database"] else 0)
    ready = all(checks.values())
    rt.metrics.ready.set(1 if ready else 0)
    body: dict[str, object] = {"ready": ready, "service": rt.service, "checks": checks}
    if not ready:
        body["failing"] = [name for name, ok in checks.items() if not ok]
    return JSONResponse(body, status_code=200 if ready else 503)


@router.get("/metrics")
async def metrics(rt: RuntimeDep) -> Response:
    payload = await asyncio.to_thread(generate_latest, rt.metrics.registry)
    return Response(payload, media_type=CONTENT_TYPE_LATEST)
