"""Keeping the target up: health checks, restarts with back-off, readiness.

Every ``PROBE_INTERVAL_S`` the monitor reaps what exited and restarts it once
its back-off has passed (a replica whose port was taken meanwhile moves to a new
one), probes every replica's ``/readyz``, and looks at PostgreSQL; state.json
is rewritten when anything changed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time

import aiohttp

from tradestorm.errors import ComponentError
from tradestorm.local.postgres import free_port
from tradestorm.local.state import write_json_atomic
from tradestorm.local.supervisor.helpers import Helper
from tradestorm.local.supervisor.parts import Parts
from tradestorm.local.supervisor.replicas import Replica, backoff_delay

log = logging.getLogger("tradestorm.supervisor")

PROBE_INTERVAL_S = 0.5


class Monitor:
    """Watches the parts of the target; ``run()`` until cancelled."""

    def __init__(self, parts: Parts, session: aiohttp.ClientSession) -> None:
        self.parts = parts
        self.session = session

    # ------------------------------------------------------------------ readiness
    def not_ready(self) -> list[str]:
        """What is not ready yet, each with why; empty once all of the target is."""
        parts = self.parts
        problems = []
        for r in (r for rs in parts.replicas.values() for r in rs if not r.ready):
            why = r.last_probe_error or r.state
            if r.last_exit is not None:
                last_line = r.last_lines(1).strip()[-300:]
                why = f"exited with {r.last_exit} after {r.restarts} restart(s): {last_line}"
            problems.append(f"{r.name} not ready ({why})")
        if not parts.database.up:
            problems.append("postgres not accepting connections")
        if parts.proxy is None or not parts.proxy.running:
            problems.append("proxy not running")
        if parts.prometheus is None or not parts.prometheus.running:
            problems.append("prometheus not running")
        return problems

    async def wait_ready(self, task: asyncio.Task[None], stopping: asyncio.Event,
                         deadline: float, timeout_s: float) -> bool:
        """Until all of the target is ready (True) or a stop is requested (False).

        ``task`` runs ``run()``; past ``deadline`` (``timeout_s`` after the start
        began) a ``ComponentError`` names what is not ready.
        """
        while self.not_ready():
            if stopping.is_set():
                return False
            if time.monotonic() > deadline:
                raise ComponentError("target", f"not ready after {timeout_s:.0f}s: "
                                     + "; ".join(self.not_ready()))
            if task.done():
                task.result()
            await asyncio.sleep(0.1)
        return True

    # ------------------------------------------------------------------ the loop
    async def run(self) -> None:
        while True:
            try:
                await self._tick()
            except Exception:  # the monitor must never die
                log.exception("monitor tick failed")
            await asyncio.sleep(PROBE_INTERVAL_S)

    async def _tick(self) -> None:
        parts = self.parts
        now = time.time()
        changed = False
        for replicas in parts.replicas.values():
            for r in replicas:
                if r.reap(now):
                    changed = True
                    log.warning("%s exited with %s; restart in %.1fs", r.name, r.last_exit,
                                (r.restart_at or now) - now)
                    if r.bind_conflict:
                        await self._move_replica(r)
                if r.process is None and r.restart_at is not None and now >= r.restart_at:
                    r.start(parts.replica_env)
                    r.restarts += 1
                    changed = True
                    log.info("%s restarted (pid %s, restart #%d)", r.name, r.pid, r.restarts)
        for helper in (parts.proxy, parts.prometheus):
            if helper is not None and _check_helper(helper, now):
                changed = True
        was_up = parts.database.up
        await asyncio.gather(
            *(self._probe(r) for rs in parts.replicas.values() for r in rs),
            parts.database.check(now),
        )
        if changed or was_up != parts.database.up:
            parts.save()

    async def _probe(self, replica: Replica) -> None:
        if not replica.running:
            return
        try:
            async with self.session.get(f"{replica.url}/readyz") as resp:
                body = await resp.read()
                ok = resp.status == 200
                replica.last_probe_error = "" if ok else f"/readyz {resp.status}: {body[:200]!r}"
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            ok = False
            replica.last_probe_error = f"{type(exc).__name__}"
        if ok and not replica.ready:
            replica.ready_since = time.time()
            log.info("%s ready (%.1fs after start)", replica.name,
                     replica.ready_since - replica.started_at)
        replica.ready = ok and replica.running

    async def _move_replica(self, replica: Replica) -> None:
        """Another process took the replica's port: give it a new one, and tell the
        proxy and Prometheus. (Ports are chosen free at start, but on a shared
        machine another program can grab one between a crash and the restart.)"""
        parts = self.parts
        old = replica.port
        replica.port = free_port()
        replica.restart_at = time.time()  # not the replica's fault: no back-off
        replica.consecutive_failures = 0
        log.warning("%s: port %d is taken by another process; moving to %d",
                    replica.name, old, replica.port)
        proxy = parts.proxy_ports.get(replica.service, {})
        if proxy.get("control_url"):
            url = f"{proxy['control_url']}/backends/{replica.name}"
            try:
                async with self.session.put(url, json={"port": replica.port}) as resp:
                    if resp.status != 200:
                        log.error("proxy refused the new port of %s: %s", replica.name,
                                  await resp.text())
            except (aiohttp.ClientError, TimeoutError, OSError) as exc:
                log.error("could not tell the proxy about %s: %s", replica.name, exc)
        # a restarted proxy process and Prometheus must see the new port too
        config_path = parts.layout.proxy_config
        with contextlib.suppress(OSError, ValueError, KeyError):
            config = json.loads(config_path.read_text())
            for entry in config["proxies"]:
                for backend in entry["backends"]:
                    if backend["name"] == replica.name:
                        backend["port"] = replica.port
            write_json_atomic(config_path, config)
        if parts.prometheus is not None and parts.prometheus_url:
            parts.write_prometheus_config()
            with contextlib.suppress(aiohttp.ClientError, TimeoutError, OSError):
                async with self.session.post(f"{parts.prometheus_url}/-/reload") as resp:
                    await resp.read()
        parts.save()


def _check_helper(helper: Helper, now: float) -> bool:
    """Restart a helper that exited, after its back-off; True when anything changed."""
    if helper.running:
        return False
    if helper.restart_at is None:
        if now - helper.started_at >= 10:
            helper.failures = 0
        helper.failures += 1
        helper.restart_at = now + backoff_delay(helper.failures)
        log.warning("%s exited with %s; restart in %.1fs; its last output: %s", helper.name,
                    helper.process.poll() if helper.process else None,
                    helper.restart_at - now, helper.last_lines() or "(none)")
        return True
    if now >= helper.restart_at:
        helper.start()
        helper.restarts += 1
        log.info("%s restarted (pid %s)", helper.name,
                 helper.process.pid if helper.process else None)
        return True
    return False
