"""The caller's deadline travels with every internal call (``X-Request-Timeout-Ms``):
orders gives up before the gateway does, never creates an order for a caller
that has left, refuses a spent budget without work, and a malformed budget is
a 4xx naming the header."""

from __future__ import annotations

import asyncio
import json
import socket
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

import asyncpg
import httpx
import pytest
import uvicorn
from platform_helpers import ADMIN_KEY, Platform, platform_env, start_inproc
from tradeplat import deadline
from tradeplat.config import load_settings
from tradeplat.services import create_service_app
from tradeplat.services.orders.submission import ACCOUNT_LOCK_CLASS
from tradeplat.web.clients import ServiceClient

HEADER = deadline.HEADER


@asynccontextmanager
async def http_server(delay_s: float, body: dict[str, object], seen: list[dict[str, str]]
                      ) -> AsyncIterator[str]:
    """A real HTTP/1.1 server answering every request with ``body`` after ``delay_s``,
    recording each request's headers."""

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
                headers = dict(line.split(": ", 1) for line in head.split("\r\n")[1:] if line)
                headers = {k.lower(): v for k, v in headers.items()}
                seen.append(headers)
                await reader.readexactly(int(headers.get("content-length", "0")))
                await asyncio.sleep(delay_s)
                raw = json.dumps(body).encode()
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                             b"Content-Length: %d\r\n\r\n%s" % (len(raw), raw))
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass  # the client left, or the server is closing
        finally:
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    try:
        yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    finally:
        server.close()


@asynccontextmanager
async def served(app: object) -> AsyncIterator[str]:
    """``app`` behind a real uvicorn server (its own requests, not the caller's task:
    a caller giving up does not cancel the server's work, as between processes)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="on",
                                           log_level="warning"))  # type: ignore[arg-type]
    task = asyncio.create_task(server.serve())
    while not server.started:
        assert not task.done(), "uvicorn did not start"
        await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


async def test_a_slow_risk_never_creates_an_order_after_the_gateway_gave_up(
    platform_dsn: str, db: asyncpg.Pool
) -> None:
    # Gateway → orders: 2 × 0.5 s without an answer (its read timeout). orders
    # first waits 0.5 s for the account lock, then risk answers after 0.9 s
    # (within orders' own 1 s limit): 1.4 s in all, so without the caller's
    # deadline orders would create the order after the gateway had answered.
    seen: list[dict[str, str]] = []
    async with AsyncExitStack() as stack:
        risk_url = await stack.enter_async_context(
            http_server(0.9, {"allowed": True}, seen))
        orders_app = create_service_app("orders", load_settings(platform_env(
            platform_dsn, risk_url=risk_url, call_timeout_s="0.5")))
        orders_url = await stack.enter_async_context(served(orders_app))
        gw = await start_inproc(platform_dsn, stack, only=("gateway",), orders_url=orders_url,
                                call_timeout_s="0.5")
        r = await gw.gateway.post("/v1/admin/accounts", json={"name": "slow", "cash": "100"},
                                  headers={"X-Admin-Key": ADMIN_KEY})
        account_id, headers = r.json()["account_id"], {"X-API-Key": r.json()["api_key"]}

        locked = asyncio.Event()

        async def hold_the_account_lock(seconds: float) -> None:
            async with db.acquire() as conn, conn.transaction():
                await conn.execute("SELECT pg_advisory_xact_lock($1, hashtext($2))",
                                   ACCOUNT_LOCK_CLASS, account_id)
                locked.set()
                await asyncio.sleep(seconds)

        holder = asyncio.create_task(hold_the_account_lock(0.5))
        await locked.wait()
        start = time.monotonic()
        answer = await gw.gateway.post("/v1/orders", headers=headers, json={
            "client_order_id": uuid.uuid4().hex, "symbol": "AAPL", "side": "BUY",
            "type": "LIMIT", "quantity": 1, "price": "1.00"})
        elapsed = time.monotonic() - start
        await holder
        assert answer.status_code == 503, answer.text
        assert answer.json()["error"] == "deadline_exceeded"
        assert elapsed < 1.0  # orders answered before the gateway gave up
        # risk was asked with what was left of orders' budget, not its own 0.5 s.
        assert seen and 0 < int(seen[-1][HEADER.lower()]) < 450
        await asyncio.sleep(2.0)  # risk's late verdict has long arrived
        assert await db.fetchval(
            "SELECT count(*) FROM orders WHERE account_id = $1", account_id) == 0


async def _post_internal(platform: Platform, account_id: str, budget: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=platform.apps["orders"])
    async with httpx.AsyncClient(transport=transport, base_url="http://orders") as client:
        return await client.post("/internal/orders", json={
            "client_order_id": uuid.uuid4().hex, "symbol": "AAPL", "side": "BUY",
            "type": "LIMIT", "quantity": 1, "price": "1.00"},
            headers={"X-Account-ID": account_id, HEADER: budget.encode()})


async def test_a_lock_wait_longer_than_the_budget_gives_up_in_time(
    platform: Platform, db: asyncpg.Pool
) -> None:
    account_id, _ = await platform.create_account()
    async with db.acquire() as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1, hashtext($2))",
                           ACCOUNT_LOCK_CLASS, account_id)
        start = time.monotonic()
        r = await _post_internal(platform, account_id, "500")
        elapsed = time.monotonic() - start
    assert r.status_code == 503 and r.json()["error"] == "deadline_exceeded", r.text
    # the 500 ms budget, not the database's own 2 s lock timeout, ended the wait
    # (the bound leaves room for a busy CI machine's scheduling)
    assert elapsed < 1.2
    assert await db.fetchval(
        "SELECT count(*) FROM orders WHERE account_id = $1", account_id) == 0


async def test_an_expired_budget_is_refused_without_work(
    platform: Platform, db: asyncpg.Pool
) -> None:
    account_id, headers = await platform.create_account()
    r = await _post_internal(platform, account_id, "0")
    assert r.status_code == 503 and r.json()["error"] == "deadline_exceeded", r.text
    # Through the gateway too (a public client may send its own budget).
    r = await platform.gateway.post("/v1/orders", headers={**headers, HEADER: "0"}, json={
        "client_order_id": "expired", "symbol": "AAPL", "side": "BUY", "type": "LIMIT",
        "quantity": 1, "price": "1.00"})
    assert r.status_code == 503 and r.json()["error"] == "deadline_exceeded", r.text
    assert await db.fetchval(
        "SELECT count(*) FROM orders WHERE account_id = $1", account_id) == 0
    # With time left, the same order goes through.
    assert (await _post_internal(platform, account_id, "5000")).status_code == 201


@pytest.mark.parametrize("value", ["abc", "-1", "1.5", "", "99999999999", "１２"])
async def test_a_malformed_budget_is_a_422_naming_the_header(
    platform: Platform, value: str
) -> None:
    account_id, headers = await platform.create_account()
    r = await _post_internal(platform, account_id, value)
    assert r.status_code == 422 and r.json()["field"] == HEADER, r.text
    r = await platform.gateway.get("/v1/orders",
                                   headers={**headers, HEADER: value.encode()})
    assert r.status_code == 422 and r.json()["field"] == HEADER, r.text


async def test_the_budget_is_written_when_the_request_leaves() -> None:
    # The real transport: the callee gets what the caller will still wait, less
    # whatever the request spent before it went on the wire.
    seen: list[dict[str, str]] = []
    async with http_server(0.0, {}, seen) as url:
        client = ServiceClient("probe", url, timeout_s=5.0)
        try:
            token = deadline.start(1.0)
            try:
                assert (await client.request("GET", "/x")).status_code == 200
            finally:
                deadline.reset(token)
            assert (await client.request("GET", "/y")).status_code == 200
        finally:
            await client.aclose()
    with_deadline, own = (int(h[HEADER.lower()]) for h in seen)
    # 1 s less the 100 ms margin, less the trip (room below for a busy machine)
    assert 600 <= with_deadline <= 900
    assert 4900 < own <= 5000  # no caller deadline: the read timeout (5 s)
