"""One service proxy: a listen address, a backend pool and the active faults."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from tradestorm.errors import ComponentError
from tradestorm.local.proxy.backends import BackendPool
from tradestorm.local.proxy.connection import ClientConnection
from tradestorm.local.proxy.faults import KINDS, Fault, Shaping

log = logging.getLogger(__name__)

DIRECTIONS = ("upstream", "downstream")


class ServiceProxy:
    """Balances new connections over ``pool`` and applies the active faults.

    Fault semantics (each removes itself after ``duration_s`` when given):
    ``latency`` delays every chunk by latency ± jitter (downstream by default,
    order preserved); ``bandwidth`` caps bytes per second; ``blackhole``
    accepts new connections and holds them, and stalls existing ones, without
    ever answering (held data flows again once it is removed); ``reset`` sends
    a TCP RST on every existing and new connection; ``refuse`` stops
    listening, so connects are refused (existing connections go on).
    """

    def __init__(self, name: str, host: str, port: int, pool: BackendPool) -> None:
        self.name = name
        self.host = host
        self.port = port
        self.pool = pool
        self.loop = asyncio.get_running_loop()
        self.faults: dict[str, Fault] = {}
        self._expiry: dict[str, asyncio.TimerHandle] = {}
        self.connections: set[ClientConnection] = set()
        self.connections_total = 0
        self.connect_failures_total = 0
        self.no_backend_total = 0
        self.held = 0
        self.bytes_total = {d: 0 for d in DIRECTIONS}
        self.shaping = {d: Shaping() for d in DIRECTIONS}
        self.fast_path = {d: True for d in DIRECTIONS}
        self.blackhole_clear = asyncio.Event()
        self.blackhole_clear.set()
        self.resetting = False  # a reset fault is active (read per connection: a plain bool)
        self._server: asyncio.AbstractServer | None = None
        self._listener_lock = asyncio.Lock()
        self._listener_task: asyncio.Task[None] | None = None

    @property
    def listen(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def listening(self) -> bool:
        return self._server is not None

    async def start(self) -> None:
        """Health-check the backends and listen; a ComponentError when the port is taken."""
        await self.pool.start()
        try:
            await self._listen()
        except OSError as exc:
            await self.pool.stop()
            raise ComponentError(f"proxy {self.name}", f"cannot listen on {self.listen}: "
                                 f"{exc.strerror or exc}") from exc

    async def _listen(self) -> None:
        self._server = await self.loop.create_server(
            lambda: ClientConnection(self), self.host, self.port, reuse_address=True, backlog=1024
        )
        sock = self._server.sockets[0]
        self.port = int(sock.getsockname()[1])

    async def stop(self) -> None:
        for handle in self._expiry.values():
            handle.cancel()
        self._expiry.clear()
        if self._server is not None:
            self._server.close()
            self._server = None
        for conn in list(self.connections):
            conn.close()
        await self.pool.stop()

    # -- faults
    def count(self, kind: str) -> int:
        return sum(1 for f in self.faults.values() if f.kind == kind)

    def add_fault(self, fault: Fault) -> Fault:
        self.faults[fault.id] = fault
        if fault.duration_s is not None:
            self._expiry[fault.id] = self.loop.call_later(
                fault.duration_s, self.remove_fault, fault.id
            )
        log.info("proxy %s: fault added %s", self.name, fault.to_dict())
        self._apply()
        if fault.kind == "reset":
            for conn in list(self.connections):
                conn.reset()
        return fault

    def remove_fault(self, fault_id: str) -> Fault | None:
        fault = self.faults.pop(fault_id, None)
        handle = self._expiry.pop(fault_id, None)
        if handle is not None:
            handle.cancel()
        if fault is not None:
            log.info("proxy %s: fault removed %s", self.name, fault.id)
            self._apply()
        return fault

    def clear_faults(self) -> list[Fault]:
        removed = [f for f in (self.remove_fault(i) for i in list(self.faults)) if f is not None]
        return removed

    def _apply(self) -> None:
        faults = list(self.faults.values())
        blackhole = any(f.kind == "blackhole" for f in faults)
        for d in DIRECTIONS:
            self.shaping[d] = Shaping.combine(faults, d)
            self.fast_path[d] = not self.shaping[d].active and not blackhole
        self.resetting = any(f.kind == "reset" for f in faults)
        if blackhole:
            self.blackhole_clear.clear()
        else:
            self.blackhole_clear.set()
        self._listener_task = self.loop.create_task(self._sync_listener())

    async def _sync_listener(self) -> None:
        async with self._listener_lock:
            refuse = self.count("refuse") > 0
            if refuse and self._server is not None:
                self._server.close()
                self._server = None
            elif not refuse and self._server is None:
                for attempt in range(50):
                    try:
                        await self._listen()
                        return
                    except OSError as exc:  # the port may linger for a moment
                        if attempt == 49:
                            log.error("proxy %s: cannot listen again on %s: %s",
                                      self.name, self.listen, exc)
                        await asyncio.sleep(0.1)

    async def settle(self) -> None:
        """Wait until the listener matches the faults (refuse added or removed)."""
        if self._listener_task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener_task

    # -- views
    def faults_view(self) -> list[dict[str, Any]]:
        return [f.to_dict() for f in self.faults.values()]

    def faults_by_kind(self) -> dict[str, int]:
        return {k: self.count(k) for k in KINDS}

    def backends_view(self) -> dict[str, Any]:
        return {
            "service": self.name,
            "listen": self.listen,
            "listening": self.listening,
            "backends": [b.to_dict() for b in self.pool.backends],
        }
