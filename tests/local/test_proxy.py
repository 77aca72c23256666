"""The service proxy against small servers of our own (no platform needed).

Real sockets on 127.0.0.1: a couple of HTTP backends and a TCP echo server.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import AsyncIterator

import httpx
import pytest
from aiohttp import web

from tradestorm.local.proxy.backends import Backend, BackendPool
from tradestorm.local.proxy.control import make_app
from tradestorm.local.proxy.service import ServiceProxy


async def _http_backend(name: str, body_size: int = 0) -> web.AppRunner:
    async def hello(_r: web.Request) -> web.Response:
        return web.Response(text=name if not body_size else "x" * body_size)

    async def ready(_r: web.Request) -> web.Response:
        return web.json_response({"ready": True})

    app = web.Application()
    app.router.add_get("/", hello)
    app.router.add_get("/readyz", ready)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    return runner


def _port(runner: web.AppRunner) -> int:
    return int(runner.addresses[0][1])


class Harness:
    def __init__(self, proxy: ServiceProxy, control: str) -> None:
        self.proxy = proxy
        self.control = control

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.proxy.port}"


@contextlib.asynccontextmanager
async def _proxy(backends: list[tuple[str, int]], check: str = "http") -> AsyncIterator[Harness]:
    pool = BackendPool([Backend(n, "127.0.0.1", p) for n, p in backends], check=check,
                       interval_s=0.2)
    proxy = ServiceProxy("svc", "127.0.0.1", 0, pool)
    await proxy.start()
    runner = web.AppRunner(make_app(proxy), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        yield Harness(proxy, f"http://127.0.0.1:{_port(runner)}")
    finally:
        await runner.cleanup()
        await proxy.stop()


async def _echo_server() -> asyncio.AbstractServer:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
        writer.close()

    return await asyncio.start_server(handle, "127.0.0.1", 0)


def _fresh() -> httpx.AsyncClient:
    return httpx.AsyncClient(timeout=5, limits=httpx.Limits(max_keepalive_connections=0))


async def test_balances_over_backends_and_fails_over_when_one_dies() -> None:
    a, b = await _http_backend("a"), await _http_backend("b")
    try:
        async with _proxy([("a", _port(a)), ("b", _port(b))]) as h, _fresh() as client:
            seen = [(await client.get(h.url)).text for _ in range(10)]
            assert set(seen) == {"a", "b"}
            await b.cleanup()  # backend b dies; the health check has not noticed yet
            seen = [(await client.get(h.url)).text for _ in range(10)]
            assert seen == ["a"] * 10
            backends = (await client.get(f"{h.control}/backends")).json()["backends"]
            assert [x["healthy"] for x in backends] == [True, False]
    finally:
        await a.cleanup()


async def test_large_transfers_arrive_intact_with_and_without_faults() -> None:
    server = await _echo_server()
    port = server.sockets[0].getsockname()[1]
    payload = os.urandom(4 * 1024 * 1024)
    try:
        async with _proxy([("echo", port)], check="tcp") as h:
            for fault in (None, {"kind": "latency", "latency_ms": 5, "jitter_ms": 5,
                                 "direction": "both"}):
                if fault:
                    async with httpx.AsyncClient() as c:
                        assert (await c.post(f"{h.control}/faults", json=fault)).status_code == 201
                reader, writer = await asyncio.open_connection("127.0.0.1", h.proxy.port)

                async def send(w: asyncio.StreamWriter) -> None:
                    for i in range(0, len(payload), 100_000):
                        w.write(payload[i:i + 100_000])
                        await w.drain()
                    w.write_eof()

                sender = asyncio.create_task(send(writer))
                received = await asyncio.wait_for(reader.read(-1), 30)
                await sender
                writer.close()
                assert received == payload, f"corrupted with fault {fault}"
    finally:
        server.close()


async def test_bandwidth_limit_slows_responses_down() -> None:
    backend = await _http_backend("big", body_size=40_000)
    try:
        async with _proxy([("big", _port(backend))]) as h, _fresh() as client:
            t0 = time.perf_counter()
            assert len((await client.get(h.url)).text) == 40_000
            fast = time.perf_counter() - t0
            r = await client.post(f"{h.control}/faults",
                                  json={"kind": "bandwidth", "bytes_per_second": 80_000})
            assert r.status_code == 201
            t0 = time.perf_counter()
            assert len((await client.get(h.url)).text) == 40_000
            slow = time.perf_counter() - t0
            assert slow >= 0.45 > fast, (fast, slow)
    finally:
        await backend.cleanup()


async def test_reset_resets_open_and_new_connections() -> None:
    server = await _echo_server()
    port = server.sockets[0].getsockname()[1]
    try:
        async with _proxy([("echo", port)], check="tcp") as h:
            reader, writer = await asyncio.open_connection("127.0.0.1", h.proxy.port)
            writer.write(b"ping")
            assert await reader.readexactly(4) == b"ping"
            async with httpx.AsyncClient() as c:
                r = await c.post(f"{h.control}/faults", json={"kind": "reset", "duration_s": 1})
                assert r.status_code == 201
            with pytest.raises((ConnectionResetError, asyncio.IncompleteReadError)):
                writer.write(b"ping")
                await writer.drain()
                await reader.readexactly(4)
            writer.close()
            with pytest.raises((ConnectionResetError, asyncio.IncompleteReadError)):
                reader, writer = await asyncio.open_connection("127.0.0.1", h.proxy.port)
                writer.write(b"ping")
                await writer.drain()
                await reader.readexactly(4)
            await asyncio.sleep(1.2)
            reader, writer = await asyncio.open_connection("127.0.0.1", h.proxy.port)
            writer.write(b"pong")
            assert await reader.readexactly(4) == b"pong"
            writer.close()
    finally:
        server.close()


async def test_refuse_stops_listening_until_removed() -> None:
    backend = await _http_backend("a")
    try:
        async with _proxy([("a", _port(backend))]) as h, _fresh() as client:
            r = await client.post(f"{h.control}/faults", json={"kind": "refuse"})
            assert r.status_code == 201
            with pytest.raises(ConnectionRefusedError):
                await asyncio.open_connection("127.0.0.1", h.proxy.port)
            r = await client.delete(f"{h.control}/faults/{r.json()['id']}")
            assert r.status_code == 200
            assert (await client.get(h.url)).text == "a"
            r = await client.delete(f"{h.control}/faults/{r.json()['id']}")
            assert r.status_code == 404
    finally:
        await backend.cleanup()


async def test_blackhole_holds_then_releases_a_waiting_client() -> None:
    backend = await _http_backend("a")
    try:
        async with _proxy([("a", _port(backend))]) as h, _fresh() as client:
            r = await client.post(f"{h.control}/faults",
                                  json={"kind": "blackhole", "duration_s": 0.6})
            assert r.status_code == 201
            with pytest.raises(httpx.ReadTimeout):
                await client.get(h.url, timeout=0.3)
            # a caller with a longer timeout is answered once the blackhole ends
            t0 = time.perf_counter()
            assert (await client.get(h.url, timeout=5)).text == "a"
            assert time.perf_counter() - t0 < 1.5
            assert (await client.get(f"{h.control}/faults")).json() == {"faults": []}
    finally:
        await backend.cleanup()


@pytest.mark.parametrize(("body", "field"), [
    ({"kind": "lag"}, "kind"),
    ({}, "kind"),
    ({"kind": "latency"}, "latency_ms"),
    ({"kind": "latency", "latency_ms": -1}, "latency_ms"),
    ({"kind": "latency", "latency_ms": "100"}, "latency_ms"),
    ({"kind": "latency", "latency_ms": 10, "jitter_ms": True}, "jitter_ms"),
    ({"kind": "bandwidth"}, "bytes_per_second"),
    ({"kind": "bandwidth", "bytes_per_second": 0}, "bytes_per_second"),
    ({"kind": "bandwidth", "bytes_per_second": 1.5}, "bytes_per_second"),
    ({"kind": "reset", "duration_s": 0}, "duration_s"),
    ({"kind": "reset", "duration_s": -5}, "duration_s"),
    ({"kind": "refuse", "latency_ms": 5}, "latency_ms"),
    ({"kind": "blackhole", "direction": "up"}, "direction"),
    ({"kind": "latency", "latency_ms": 5, "color": "red"}, "color"),
    ([1, 2], "(body)"),
])
async def test_malformed_fault_is_a_422_naming_the_field(body, field) -> None:
    backend = await _http_backend("a")
    try:
        async with _proxy([("a", _port(backend))]) as h, _fresh() as client:
            r = await client.post(f"{h.control}/faults", json=body)
            assert r.status_code == 422, r.text
            assert r.json()["field"] == field
            r = await client.post(f"{h.control}/faults", content=b"{not json")
            assert r.status_code == 400
            # nothing was applied
            assert (await client.get(f"{h.control}/faults")).json() == {"faults": []}
            assert (await client.get(h.url)).text == "a"
    finally:
        await backend.cleanup()


async def test_fault_with_duration_removes_itself_and_metrics_follow() -> None:
    backend = await _http_backend("a")
    try:
        async with _proxy([("a", _port(backend))]) as h, _fresh() as client:
            r = await client.post(f"{h.control}/faults",
                                  json={"kind": "latency", "latency_ms": 50, "duration_s": 0.4})
            assert r.status_code == 201 and r.json()["expires_at"] > time.time()
            text = (await client.get(f"{h.control}/metrics")).text
            assert 'tradestorm_proxy_faults_active{kind="latency",service="svc"} 1.0' in text
            await asyncio.sleep(0.6)
            assert (await client.get(f"{h.control}/faults")).json() == {"faults": []}
            text = (await client.get(f"{h.control}/metrics")).text
            assert 'tradestorm_proxy_faults_active{kind="latency",service="svc"} 0.0' in text
            assert 'tradestorm_proxy_backends_healthy{service="svc"} 1.0' in text
            assert 'tradestorm_proxy_connections_total{service="svc"}' in text
    finally:
        await backend.cleanup()
