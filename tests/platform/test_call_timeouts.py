"""Every call to another service has a timeout: a dependency that accepts the
connection and never answers costs a bounded wait and a 503 naming it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack

import httpx
import pytest_asyncio
from platform_helpers import ADMIN_KEY, start_inproc


@pytest_asyncio.fixture
async def trickle() -> AsyncIterator[str]:
    """A real TCP server that answers 200 at once, then one body byte every 0.1 s
    for 20 s: each read is quick, the whole answer is not."""

    async def drip(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                         b"Content-Length: 200\r\n\r\n")
            for _ in range(200):
                writer.write(b" ")
                await writer.drain()
                await asyncio.sleep(0.1)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(drip, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.close()


async def test_a_trickling_answer_is_cut_at_the_call_deadline(
    platform_dsn: str, trickle: str
) -> None:
    async with AsyncExitStack() as stack:
        gw = await start_inproc(platform_dsn, stack, only=("gateway",),
                                orders_url=trickle, call_timeout_s="0.3")
        r = await gw.gateway.post("/v1/admin/accounts", json={"name": "t", "cash": "10"},
                                  headers={"X-Admin-Key": ADMIN_KEY})
        headers = {"X-API-Key": r.json()["api_key"]}
        start = time.monotonic()
        r = await gw.gateway.get("/v1/orders", headers=headers)
        elapsed = time.monotonic() - start
    assert r.status_code == 503 and r.json()["dependency"] == "orders"
    assert elapsed < 3.0  # two attempts of 0.3 s (+ connect budget), not 20 s


async def test_a_silent_dependency_costs_a_bounded_wait_and_a_503(
    platform_dsn: str, black_hole: str
) -> None:
    async with AsyncExitStack() as stack:
        gw = await start_inproc(platform_dsn, stack, only=("gateway",),
                                orders_url=black_hole, call_timeout_s="0.3")
        r = await gw.gateway.post("/v1/admin/accounts", json={"name": "t", "cash": "10"},
                                  headers={"X-Admin-Key": ADMIN_KEY})
        headers = {"X-API-Key": r.json()["api_key"]}

        start = time.monotonic()
        r = await gw.gateway.post("/v1/orders", headers=headers, json={
            "client_order_id": "silent", "symbol": "AAPL", "side": "BUY", "type": "LIMIT",
            "quantity": 1, "price": "1.00"})
        post_s = time.monotonic() - start
        assert r.status_code == 503 and r.json()["dependency"] == "orders"
        assert post_s < 2.0  # one attempt of 2 × 0.3 s: a sent order is never re-sent

        start = time.monotonic()
        r = await gw.gateway.get("/v1/orders", headers=headers)
        get_s = time.monotonic() - start
        assert r.status_code == 503 and r.json()["dependency"] == "orders"
        assert get_s < 2.0

        transport = httpx.ASGITransport(app=gw.apps["gateway"])
        async with httpx.AsyncClient(transport=transport, base_url="http://gw") as client:
            metrics = (await client.get("/metrics")).text
        # Neither was retried: a request that was sent and timed out may still be running
        # on the callee, and a retry would be a second copy of its work.
        assert 'tradeplat_upstream_retries_total{dependency="orders"} 1.0' not in metrics
