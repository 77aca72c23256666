"""The data path: one proxied TCP connection, client side and backend side.

Built on asyncio protocols (no stream objects, no task per chunk) so that,
with no fault active, a chunk read from one side is written to the other in
the same callback. Flow control is end to end: when one side's send buffer
fills up, the other side stops reading.

With a fault active, each direction goes through a ``Channel`` queue drained
by a task that applies latency (with jitter, order preserved), a bandwidth
limit, or holds the data while a blackhole is active.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import errno
import logging
import random
import socket
import struct
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from tradestorm.local.proxy.backends import Backend, BackendPool
    from tradestorm.local.proxy.faults import Shaping

QUEUE_HIGH_BYTES = 256 * 1024
QUEUE_LOW_BYTES = 64 * 1024
CONNECT_TIMEOUT_S = 2.0
# after one side half-closes, the other has this long to finish (HAProxy's client-fin)
FIN_TIMEOUT_S = 5.0
_BANDWIDTH_TICK_S = 0.02
# connect errors that are the proxy's own problem, not the backend's: no mark_down
_LOCAL_ERRNOS = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM,
                           errno.EADDRNOTAVAIL})

log = logging.getLogger(__name__)


def _rst(transport: asyncio.BaseTransport) -> None:
    """Close ``transport`` with a TCP RST (SO_LINGER 0) instead of a FIN."""
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()  # type: ignore[attr-defined]


class Proxy(Protocol):
    """What a connection uses of its service proxy (``service.ServiceProxy``): the loop,
    the backends, the faults' switches it reads and the counters it keeps."""

    name: str
    loop: asyncio.AbstractEventLoop
    pool: BackendPool
    connections: set[ClientConnection]
    connections_total: int
    connect_failures_total: int
    no_backend_total: int
    held: int
    bytes_total: dict[str, int]
    shaping: dict[str, Shaping]
    fast_path: dict[str, bool]
    blackhole_clear: asyncio.Event
    resetting: bool


class Channel:
    """One direction of a proxied connection: reads from ``src``, writes to ``dst``."""

    def __init__(self, conn: ClientConnection, direction: str, src: asyncio.Transport,
                 dst: asyncio.Transport) -> None:
        self.conn = conn
        self.proxy = conn.proxy
        self.direction = direction
        self.src = src
        self.dst = dst
        self.queue: collections.deque[tuple[float, bytes]] = collections.deque()
        self.queued_bytes = 0
        self.last_release = 0.0
        self.eof_pending = False
        self.eof_sent = False
        self._pauses: set[str] = set()
        self._task: asyncio.Task[None] | None = None

    def pause(self, reason: str) -> None:
        if not self._pauses:
            with contextlib.suppress(RuntimeError):
                self.src.pause_reading()
        self._pauses.add(reason)

    def resume(self, reason: str) -> None:
        if reason in self._pauses:
            self._pauses.discard(reason)
            if not self._pauses and not self.src.is_closing():
                with contextlib.suppress(RuntimeError):
                    self.src.resume_reading()

    def send(self, data: bytes) -> None:
        proxy = self.proxy
        proxy.bytes_total[self.direction] += len(data)
        if not self.queue and proxy.fast_path[self.direction]:
            self.dst.write(data)
            return
        self.queue.append((proxy.loop.time(), data))
        self.queued_bytes += len(data)
        if self.queued_bytes > QUEUE_HIGH_BYTES:
            self.pause("queue")
        if self._task is None or self._task.done():
            self._task = proxy.loop.create_task(self._drain())

    def send_eof(self) -> None:
        if self.queue:
            self.eof_pending = True
        else:
            self._write_eof()

    def _write_eof(self) -> None:
        self.eof_pending = False
        self.eof_sent = True
        conn = self.conn
        if conn.to_backend is not None and conn.to_backend.eof_sent and \
                conn.to_client is not None and conn.to_client.eof_sent:
            # both directions are done: closing sends this FIN too (after what is
            # still buffered), one shutdown() call fewer per connection
            conn.close()
            return
        if self.dst.can_write_eof() and not self.dst.is_closing():
            self.dst.write_eof()

    def cancel(self) -> None:
        if self._task is not None:
            self._task.cancel()

    async def _drain(self) -> None:
        proxy = self.proxy
        loop = proxy.loop
        while self.queue:
            if not proxy.blackhole_clear.is_set():
                await proxy.blackhole_clear.wait()
                continue
            arrival, data = self.queue[0]
            shaping = proxy.shaping[self.direction]
            if shaping.latency_s or shaping.jitter_s:
                delay = shaping.latency_s
                if shaping.jitter_s:
                    delay += random.uniform(-shaping.jitter_s, shaping.jitter_s)
                release = max(arrival + max(delay, 0.0), self.last_release)
                self.last_release = release
                wait = release - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                if not proxy.blackhole_clear.is_set():
                    continue
            self.queue.popleft()
            if self.dst.is_closing():
                return
            rate = proxy.shaping[self.direction].bytes_per_second
            if rate:
                step = max(1, int(rate * _BANDWIDTH_TICK_S))
                for i in range(0, len(data), step):
                    piece = data[i : i + step]
                    self.dst.write(piece)
                    await asyncio.sleep(len(piece) / rate)
                    if self.dst.is_closing():
                        return
            else:
                self.dst.write(data)
            self.queued_bytes -= len(data)
            if self.queued_bytes < QUEUE_LOW_BYTES:
                self.resume("queue")
        if self.eof_pending:
            self._write_eof()


class ClientConnection(asyncio.Protocol):
    """The accepted side of a proxied connection."""

    def __init__(self, proxy: Proxy) -> None:
        self.proxy = proxy
        self.transport: asyncio.Transport | None = None
        self.upstream: UpstreamConnection | None = None
        self.backend: Backend | None = None
        self.to_backend: Channel | None = None  # "upstream" direction
        self.to_client: Channel | None = None  # "downstream" direction
        self._open_task: asyncio.Task[None] | None = None
        self._closed = False
        self._client_eof = False
        self._early: list[bytes] = []
        self._early_bytes = 0
        self._reading_paused = False
        self._fin_timer: asyncio.TimerHandle | None = None

    # -- asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's are not subclasses
        proxy = self.proxy
        proxy.connections_total += 1
        proxy.connections.add(self)
        if proxy.resetting:
            self.reset()
            return
        if not proxy.blackhole_clear.is_set():
            self._reading_paused = True
            transport.pause_reading()  # held: read nothing until the blackhole goes
        self._open_task = proxy.loop.create_task(self._open())

    def data_received(self, data: bytes) -> None:
        if self.to_backend is not None:
            self.to_backend.send(data)
        else:  # the backend connect is under way (or the connection is held)
            self._early.append(data)
            self._early_bytes += len(data)
            if self._early_bytes > QUEUE_HIGH_BYTES and self.transport is not None:
                self._reading_paused = True
                self.transport.pause_reading()

    def eof_received(self) -> bool:
        self._client_eof = True
        if self.to_backend is not None:
            self.to_backend.send_eof()
        self.half_closed()
        return True  # keep the other direction open (half-close)

    def half_closed(self) -> None:
        """One side sent FIN: give the other side FIN_TIMEOUT_S to finish, then close."""
        if self._fin_timer is None and not self._closed:
            self._fin_timer = self.proxy.loop.call_later(FIN_TIMEOUT_S, self.close)

    def connection_lost(self, exc: Exception | None) -> None:
        self.close()

    def pause_writing(self) -> None:
        if self.to_client is not None:
            self.to_client.pause("backpressure")

    def resume_writing(self) -> None:
        if self.to_client is not None:
            self.to_client.resume("backpressure")

    # -- the connection's life
    async def _open(self) -> None:
        proxy = self.proxy
        if not proxy.blackhole_clear.is_set():
            proxy.held += 1
            try:
                await proxy.blackhole_clear.wait()  # accept and hold: never answer
            finally:
                proxy.held -= 1
        loop = proxy.loop
        for backend in proxy.pool.candidates():
            if self._closed:
                return
            try:
                async with asyncio.timeout(CONNECT_TIMEOUT_S):  # cheaper than wait_for
                    transport, upstream = await loop.create_connection(
                        lambda: UpstreamConnection(self), backend.host, backend.port)
            except (TimeoutError, OSError) as exc:
                proxy.connect_failures_total += 1
                if isinstance(exc, OSError) and exc.errno in _LOCAL_ERRNOS:
                    # our own resources ran out (file descriptors, ports): the backend
                    # is fine, and the next one would fail the same way
                    log.warning("proxy %s: cannot connect to %s: %s", proxy.name,
                                backend.name, exc)
                    break
                if backend.alive:  # log the transition only, not every failed connect
                    log.warning("proxy %s: connect to %s (%s) failed: %s: %s", proxy.name,
                                backend.name, backend.address, type(exc).__name__, exc)
                backend.mark_down(f"connect: {type(exc).__name__}: {exc}")
                continue
            if self._closed:
                transport.close()
                return
            self.backend = backend
            backend.active_connections += 1
            self.upstream = upstream
            assert self.transport is not None
            self.to_backend = Channel(self, "upstream", self.transport, transport)
            self.to_client = Channel(self, "downstream", transport, self.transport)
            if proxy.resetting:
                self.reset()
                return
            upstream.flush_early()
            for data in self._early:
                self.to_backend.send(data)
            self._early.clear()
            if self._client_eof:
                self.to_backend.send_eof()
            elif self._reading_paused:
                self._reading_paused = False
                self.transport.resume_reading()  # type: ignore[union-attr]
            return
        proxy.no_backend_total += 1
        self.close()

    def reset(self) -> None:
        """Tear the connection down with a TCP RST to the client."""
        if self.transport is not None and not self._closed:
            _rst(self.transport)
        self.close()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._fin_timer is not None:
            self._fin_timer.cancel()
        proxy = self.proxy
        proxy.connections.discard(self)
        if self._open_task is not None and not self._open_task.done():
            self._open_task.cancel()
        for channel in (self.to_backend, self.to_client):
            if channel is not None:
                channel.cancel()
        if self.backend is not None:
            self.backend.active_connections -= 1
        if self.upstream is not None and self.upstream.transport is not None:
            self.upstream.transport.close()
        if self.transport is not None:
            self.transport.close()

    def upstream_lost(self) -> None:
        """The backend closed: deliver what is still queued, then close the client."""
        ch = self.to_client
        if ch is not None and ch.queue and ch._task is not None and not ch._task.done():
            task = ch._task
            task.add_done_callback(lambda _t: self.close())
            return
        self.close()


class UpstreamConnection(asyncio.Protocol):
    """The backend side of a proxied connection."""

    def __init__(self, client: ClientConnection) -> None:
        self.client = client
        self.transport: asyncio.Transport | None = None
        self.early: list[bytes] = []  # bytes the backend sent before the pairing finished
        self.early_eof = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        ch = self.client.to_client
        if ch is not None:
            ch.send(data)
        else:
            self.early.append(data)

    def eof_received(self) -> bool:
        ch = self.client.to_client
        if ch is not None:
            ch.send_eof()
        else:
            self.early_eof = True
        self.client.half_closed()
        return True

    def flush_early(self) -> None:
        ch = self.client.to_client
        assert ch is not None
        for data in self.early:
            ch.send(data)
        self.early.clear()
        if self.early_eof:
            ch.send_eof()

    def connection_lost(self, exc: Exception | None) -> None:
        self.client.upstream_lost()

    def pause_writing(self) -> None:
        if self.client.to_backend is not None:
            self.client.to_backend.pause("backpressure")

    def resume_writing(self) -> None:
        if self.client.to_backend is not None:
            self.client.to_backend.resume("backpressure")
