"""Answers a replica gives on its own (a bug, load shedding): JSON, with an
``X-Request-ID``, and counted in ``http_requests_total`` like any other."""

from __future__ import annotations

import asyncio
import dataclasses

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from tradeplat.config import load_settings
from tradeplat.web.app import create_app

router = APIRouter()
release = asyncio.Event()


@router.get("/boom")
async def boom() -> None:
    raise RuntimeError("a bug")


@router.get("/slow")
async def slow() -> dict[str, bool]:
    await release.wait()
    return {"ok": True}


def _app(**changes: object) -> FastAPI:
    settings = load_settings({"TRADEPLAT_DATABASE_URL": "postgresql://x@127.0.0.1:1/x",
                              "TRADEPLAT_REPLICA": "t"})
    return create_app("orders", dataclasses.replace(settings, **changes), routers=[router])


def _count(app: FastAPI, route: str, status: str) -> float:
    value = app.state.runtime.metrics.http_requests.labels(route, "GET", status)._value.get()
    return float(value)


async def test_a_bug_is_a_json_500_with_the_request_id() -> None:
    app = _app()
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        r = await client.get("/boom", headers={"X-Request-ID": "req-42"})
    assert r.status_code == 500
    assert r.headers["x-request-id"] == "req-42"
    assert r.json() == {"error": "internal_error", "detail": "an unexpected error occurred",
                        "request_id": "req-42"}
    assert _count(app, "/boom", "500") == 1


@pytest.mark.parametrize("probe", ["/healthz", "/metrics"])
async def test_load_beyond_the_limit_is_a_counted_json_503_probes_exempt(probe: str) -> None:
    app = _app(max_concurrency=2)
    release.clear()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://t") as client:
        busy = [asyncio.create_task(client.get("/slow")) for _ in range(2)]
        await asyncio.sleep(0.2)
        shed = await client.get("/slow", headers={"X-Request-ID": "shed-1"})
        probed = await client.get(probe)
        release.set()
        done = await asyncio.gather(*busy)
    assert shed.status_code == 503
    assert shed.headers["x-request-id"] == "shed-1"
    assert shed.headers["retry-after"] == "1"
    assert shed.json()["error"] == "overloaded"
    assert probed.status_code == 200
    assert [r.status_code for r in done] == [200, 200]
    assert _count(app, "/slow", "503") == 1
