"""A proxied connection is released as soon as both sides have finished.

Regression: when the client half-closed (FIN) after its answer and the backend
then closed, the proxy kept both sockets open until FIN_TIMEOUT_S. At a few
thousand connections per second that ran the proxy out of file descriptors
(EMFILE), it marked its healthy backend down and dropped or reset new
connections (bench_proxy.py --new-connections).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno

import pytest

from tradestorm.local.proxy import connection
from tradestorm.local.proxy.backends import Backend, BackendPool
from tradestorm.local.proxy.service import ServiceProxy


async def _answer_then_close_on_eof() -> asyncio.AbstractServer:
    """Like an HTTP server: answers a request, closes when the client half-closes."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, asyncio.IncompleteReadError):
            await reader.readexactly(4)
            writer.write(b"pong")
            await writer.drain()
            await reader.read()  # until the client's FIN
        writer.close()

    return await asyncio.start_server(handle, "127.0.0.1", 0)


async def _start_proxy(port: int, interval_s: float = 0.2) -> ServiceProxy:
    pool = BackendPool([Backend("b", "127.0.0.1", port)], check="tcp", interval_s=interval_s)
    proxy = ServiceProxy("svc", "127.0.0.1", 0, pool)
    await proxy.start()
    return proxy


async def _wait_released(proxy: ServiceProxy, timeout: float) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while proxy.connections or proxy.pool.backends[0].active_connections:
        assert asyncio.get_running_loop().time() < deadline, (
            f"{len(proxy.connections)} connections still open after both sides closed")
        await asyncio.sleep(0.01)


@pytest.mark.parametrize("client_closes_first", [True, False])
async def test_connection_released_when_both_sides_closed(client_closes_first: bool) -> None:
    server = await _answer_then_close_on_eof()
    proxy = await _start_proxy(server.sockets[0].getsockname()[1])
    try:
        for _ in range(20):
            reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
            writer.write(b"ping")
            assert await reader.readexactly(4) == b"pong"
            if client_closes_first:
                writer.close()  # FIN right after the answer, like a client without keep-alive
            else:
                writer.write_eof()
                assert await reader.read() == b""  # the backend's FIN came through
                writer.close()
        # FIN_TIMEOUT_S is 5 s: released well before it, not by the timer
        await _wait_released(proxy, timeout=1.0)
        assert connection.FIN_TIMEOUT_S >= 5
    finally:
        await proxy.stop()
        server.close()


async def test_running_out_of_descriptors_does_not_mark_the_backend_down(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """EMFILE is the proxy's own problem: the backend stays healthy."""
    server = await _answer_then_close_on_eof()
    port = server.sockets[0].getsockname()[1]
    proxy = await _start_proxy(port, interval_s=60)  # no health check during the test
    backend = proxy.pool.backends[0]
    assert backend.ready
    loop = asyncio.get_running_loop()
    real = loop.create_connection

    async def emfile(factory: object, host: str, p: int, **kw: object) -> object:
        if p == port:  # the proxy connecting to its backend
            raise OSError(errno.EMFILE, "Too many open files")
        return await real(factory, host, p, **kw)  # type: ignore[arg-type]

    try:
        monkeypatch.setattr(loop, "create_connection", emfile)
        reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
        writer.write(b"ping")
        with pytest.raises((ConnectionResetError, asyncio.IncompleteReadError)):
            await asyncio.wait_for(reader.readexactly(4), 2)
        writer.close()
        assert backend.ready and backend.alive
        assert proxy.connect_failures_total == 1
        monkeypatch.setattr(loop, "create_connection", real)
    finally:
        await proxy.stop()
        server.close()
