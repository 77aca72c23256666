"""Bringing the target up: PostgreSQL and the proxies, the migrations, then the
replicas, Prometheus and the demo accounts in parallel.

Each step says what it is busy with (``Parts.step``) and ends with state.json
rewritten; a stop requested meanwhile unwinds the start. Waiting until every
replica is ready is the monitor's part.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp

from tradestorm.errors import ComponentError
from tradestorm.local import prometheus as prom
from tradestorm.local.postgres import free_port
from tradestorm.local.processes import log_tail
from tradestorm.local.state import write_json_atomic
from tradestorm.local.supervisor.helpers import Helper
from tradestorm.local.supervisor.parts import Parts, SupervisorOptions
from tradestorm.local.supervisor.replicas import Replica
from tradestorm.local.topology import HOST, SERVICE_URL_ENV, SERVICES

log = logging.getLogger("tradestorm.supervisor")


class BringUp:
    """One start of the target; ``log_rotations`` is ``LogRotator.generation``."""

    def __init__(self, options: SupervisorOptions, parts: Parts,
                 session: aiohttp.ClientSession, stopping: asyncio.Event,
                 log_rotations: Callable[[Path], int]) -> None:
        self.options = options
        self.parts = parts
        self.session = session
        self.stopping = stopping
        self.log_rotations = log_rotations

    def prepare(self) -> None:
        """The state folder's logs and targets; with ``fresh`` no data of an earlier start."""
        layout = self.parts.layout
        layout.logs.mkdir(parents=True, exist_ok=True)
        layout.prometheus_targets.mkdir(parents=True, exist_ok=True)
        if self.options.fresh:
            for path in (layout.postgres_data.parent, layout.prometheus_data, layout.accounts_file):
                if path.is_dir():
                    shutil.rmtree(path)
                else:
                    path.unlink(missing_ok=True)

    async def start(self, deadline: float) -> None:
        """Start every part of the target; the tools must be done by ``deadline``."""
        parts = self.parts
        layout = parts.layout

        # PostgreSQL
        postgres = parts.database.create()
        # replicas' ports are chosen now, so the proxies can start with PostgreSQL
        for service in SERVICES:
            parts.replicas[service] = [
                Replica(service, i, free_port(), layout.log(f"{service}-{i}"),
                        log_rotations=self.log_rotations)
                for i in range(self.options.replicas)
            ]
        parts.step = "starting PostgreSQL and the proxies"
        parts.save()
        log.info("starting PostgreSQL on port %d and the proxies", postgres.port)
        await self._interruptible(asyncio.gather(asyncio.to_thread(postgres.start),
                                                 self._start_proxies()))
        parts.database.mark_started()
        parts.save()

        # schema
        parts.replica_env = self._replica_env()
        parts.step = "migrating the database"
        parts.save()
        await self._run_tool(["migrate"], "migrate", deadline)
        log.info("migrations applied")
        parts.step = (f"starting {sum(len(rs) for rs in parts.replicas.values())} replicas, "
                      "Prometheus and the demo accounts")

        # replicas, Prometheus and the demo accounts in parallel
        for replicas in parts.replicas.values():
            for r in replicas:
                r.start(parts.replica_env)
        parts.save()
        await self._interruptible(asyncio.gather(self._start_prometheus(), self._seed(deadline)))
        log.info("Prometheus ready and demo accounts seeded; waiting for the replicas")
        parts.save()

    async def _interruptible(self, aw: Any) -> Any:
        """Await ``aw`` unless a stop is requested first (then raise to unwind the start)."""
        task = asyncio.ensure_future(aw)
        stop = asyncio.ensure_future(self.stopping.wait())
        done, _ = await asyncio.wait({task, stop}, return_when=asyncio.FIRST_COMPLETED)
        if task in done:
            stop.cancel()
            return task.result()
        task.cancel()
        with contextlib.suppress(BaseException):
            await task
        raise ComponentError("target", "interrupted while starting")

    def _replica_env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("TRADEPLAT_")}
        # the user's own TRADEPLAT_* tuning (log level, timeouts) passes through
        env.update({k: v for k, v in os.environ.items() if k.startswith("TRADEPLAT_")})
        env["TRADEPLAT_DATABASE_URL"] = self.parts.proxy_dsn
        env["TRADEPLAT_ADMIN_KEY"] = self.parts.admin_key
        for service, var in SERVICE_URL_ENV.items():
            env[var] = f"http://{self.parts.proxy_ports[service]['listen']}"
        env.setdefault("PYTHONUNBUFFERED", "1")
        return env

    async def _run_tool(self, args: list[str], name: str, deadline: float) -> str:
        env = dict(self.parts.replica_env)
        env["TRADEPLAT_REPLICA"] = name
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tradeplat", *args, env=env,
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )
        try:
            out, err = await self._interruptible(
                asyncio.wait_for(proc.communicate(), max(1.0, deadline - time.monotonic()))
            )
        except (TimeoutError, ComponentError):
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()
            raise ComponentError(name, "did not finish in time") from None
        with open(self.parts.layout.log(name), "ab") as fh:
            fh.write(err)
        if proc.returncode != 0:
            raise ComponentError(f"tradeplat {name}",
                                 f"exit {proc.returncode}: {err.decode(errors='replace')[-2000:]}")
        return out.decode()

    async def _seed(self, deadline: float) -> None:
        out = await self._run_tool(["seed", "--accounts", str(self.options.accounts)], "seed",
                                   deadline)
        try:
            accounts = json.loads(out)
        except json.JSONDecodeError as exc:
            raise ComponentError("tradeplat seed", f"did not print JSON: {out[:200]!r}") from exc
        write_json_atomic(self.parts.layout.accounts_file, accounts)

    async def _start_proxies(self) -> None:
        parts = self.parts
        layout = parts.layout
        config: dict[str, Any] = {
            "host": HOST,
            "ports_file": str(layout.proxy_ports),
            "health_interval_s": 1.0,
            "proxies": [
                {
                    "name": service,
                    "listen_port": 0,
                    "control_port": 0,
                    "check": "http",
                    "backends": [{"name": r.name, "host": HOST, "port": r.port}
                                 for r in parts.replicas[service]],
                }
                for service in SERVICES
            ],
        }
        postgres = parts.database.server
        assert postgres is not None
        config["proxies"].append({
            "name": "postgres", "listen_port": 0, "control_port": 0, "check": "tcp",
            "backends": [{"name": "postgres-0", "host": HOST, "port": postgres.port}],
        })
        write_json_atomic(layout.proxy_config, config)
        layout.proxy_ports.unlink(missing_ok=True)
        argv = [sys.executable, "-m", "tradestorm.local.proxy", str(layout.proxy_config)]
        parts.proxy = proxy = Helper("proxy", argv, layout.log("proxy"),
                                     marker=f"tradestorm.local.proxy {layout.proxy_config}")
        proxy.start()
        deadline = time.monotonic() + 30
        while not layout.proxy_ports.exists():
            if not proxy.running:
                raise ComponentError("proxy", "exited at start: " + log_tail(layout.log("proxy")))
            if time.monotonic() > deadline:
                raise ComponentError("proxy", "did not start listening within 30s")
            await asyncio.sleep(0.05)
        parts.proxy_ports = json.loads(layout.proxy_ports.read_text())["proxies"]
        # a restarted proxy process must come back on the same addresses
        for entry in config["proxies"]:
            bound = parts.proxy_ports[entry["name"]]
            entry["listen_port"] = int(bound["listen"].rsplit(":", 1)[1])
            entry["control_port"] = int(bound["control_url"].rsplit(":", 1)[1])
        write_json_atomic(layout.proxy_config, config)

    async def _start_prometheus(self) -> None:
        binary = prom.find_binary()
        parts = self.parts
        layout = parts.layout
        port = free_port()
        parts.write_prometheus_config()
        argv = prom.command(binary, config=layout.prometheus_config,
                            data_dir=layout.prometheus_data, listen=f"{HOST}:{port}")
        parts.prometheus = prometheus = Helper(
            "prometheus", argv, layout.log("prometheus"),
            marker=f"--config.file={layout.prometheus_config}")
        parts.prometheus_url = f"http://{HOST}:{port}"
        prometheus.start()
        parts.save()
        deadline = time.monotonic() + 30
        while True:
            if not prometheus.running:
                raise ComponentError("prometheus", "exited at start: "
                                     + log_tail(layout.log("prometheus")))
            if await self._get_ok(f"{parts.prometheus_url}/-/ready"):
                return
            if time.monotonic() > deadline:
                raise ComponentError("prometheus", "not ready within 30s")
            await asyncio.sleep(0.1)

    async def _get_ok(self, url: str) -> bool:
        try:
            async with self.session.get(url) as resp:
                await resp.read()
                return resp.status == 200
        except (TimeoutError, aiohttp.ClientError, OSError):
            return False
