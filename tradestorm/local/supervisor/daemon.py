"""The supervisor process: brings the local target up, keeps it up, takes it down.

Start order: control API → PostgreSQL → proxies → migrate → replicas,
Prometheus and the demo accounts (in parallel) → ready. ``state.json`` is
rewritten after every step and every restart, so ``tradestorm down`` can
always find what runs, even after the supervisor itself was SIGKILLed.
Stop order: services → proxies → Prometheus → PostgreSQL → supervisor.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import logging
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from typing import Any

import aiohttp
from aiohttp import web

from tradestorm.errors import ComponentError, TradestormError
from tradestorm.local import prometheus as prom
from tradestorm.local.postgres import free_port
from tradestorm.local.processes import TARGET_ID_ENV, log_tail, terminate
from tradestorm.local.state import write_json_atomic
from tradestorm.local.supervisor.helpers import Helper
from tradestorm.local.supervisor.logs import LogRotator
from tradestorm.local.supervisor.monitor import Monitor
from tradestorm.local.supervisor.parts import Parts, SupervisorOptions
from tradestorm.local.supervisor.replicas import Replica
from tradestorm.local.topology import HOST, SERVICE_URL_ENV, SERVICES

log = logging.getLogger("tradestorm.supervisor")

PROBE_TIMEOUT_S = 1.0
STOP_GRACE_S = 10.0
EXIT_ALREADY_RUNNING = 3


class Supervisor:
    def __init__(self, options: SupervisorOptions) -> None:
        self.options = options
        # every process of this target inherits it: `down` finds stragglers by it
        target_id = options.target_id or secrets.token_hex(12)
        os.environ[TARGET_ID_ENV] = target_id
        self.parts = Parts(options, target_id)
        self.log_rotator = LogRotator(self.parts.layout.logs, options.log_rotation)
        self.stopping = asyncio.Event()
        self._lock_fd: int | None = None
        self._session: aiohttp.ClientSession | None = None
        self._runner: web.AppRunner | None = None
        self._stopped = False

    # ------------------------------------------------------------------ lifecycle
    def acquire_lock(self) -> bool:
        self.parts.layout.root.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.parts.layout.lock_file, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._lock_fd = fd
        return True

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            loop.add_signal_handler(sig, self.stopping.set)
        self._session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=PROBE_TIMEOUT_S),
            connector=aiohttp.TCPConnector(force_close=True, limit=0),
        )
        code = 0
        monitor: asyncio.Task[None] | None = None
        rotation = asyncio.create_task(self.log_rotator.run(), name="log rotation")
        try:
            await self._start_control_api()
            self.parts.save()
            monitor = await self._bring_up(Monitor(self.parts, self._session))
            if monitor is not None:
                await self.stopping.wait()
        except TradestormError as exc:
            log.error("start failed: %s", exc)
            self.parts.error = str(exc)
            self.parts.phase = "failed"
            code = 1
        except Exception as exc:  # a bug must still take everything down
            log.exception("start failed")
            self.parts.error = f"{type(exc).__name__}: {exc}"
            self.parts.phase = "failed"
            code = 1
        finally:
            for task in (monitor, rotation):
                if task is not None:
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
            await self.shutdown()
        return code

    async def _bring_up(self, monitor: Monitor) -> asyncio.Task[None] | None:
        opts = self.options
        layout = self.parts.layout
        layout.logs.mkdir(parents=True, exist_ok=True)
        layout.prometheus_targets.mkdir(parents=True, exist_ok=True)
        if opts.fresh:
            for path in (layout.postgres_data.parent, layout.prometheus_data, layout.accounts_file):
                if path.is_dir():
                    shutil.rmtree(path)
                else:
                    path.unlink(missing_ok=True)
        deadline = time.monotonic() + opts.start_timeout_s

        # PostgreSQL
        postgres = self.parts.database.create()
        # replicas' ports are chosen now, so the proxies can start with PostgreSQL
        for service in SERVICES:
            self.parts.replicas[service] = [
                Replica(service, i, free_port(), layout.log(f"{service}-{i}"),
                        log_rotations=self.log_rotator.generation)
                for i in range(opts.replicas)
            ]
        self.parts.step = "starting PostgreSQL and the proxies"
        self.parts.save()
        log.info("starting PostgreSQL on port %d and the proxies", postgres.port)
        await self._interruptible(asyncio.gather(asyncio.to_thread(postgres.start),
                                                 self._start_proxies()))
        self.parts.database.mark_started()
        self.parts.save()

        # schema
        self.parts.replica_env = self._replica_env()
        self.parts.step = "migrating the database"
        self.parts.save()
        await self._run_tool(["migrate"], "migrate", deadline)
        log.info("migrations applied")
        self.parts.step = (f"starting {sum(len(rs) for rs in self.parts.replicas.values())} "
                           "replicas, Prometheus and the demo accounts")

        # replicas, Prometheus and the demo accounts in parallel
        for replicas in self.parts.replicas.values():
            for r in replicas:
                r.start(self.parts.replica_env)
        self.parts.save()
        await self._interruptible(asyncio.gather(self._start_prometheus(), self._seed(deadline)))
        log.info("Prometheus ready and demo accounts seeded; waiting for the replicas")
        self.parts.save()
        watch = asyncio.create_task(monitor.run(), name="monitor")
        self.parts.step = "waiting for every replica to be ready"
        self.parts.save()
        if not await monitor.wait_ready(watch, self.stopping, deadline, opts.start_timeout_s):
            return watch
        self.parts.phase = "ready"
        self.parts.step = ""
        self.parts.save()
        log.info("ready: gateway %s, prometheus %s", self.parts.state()["gateway_url"],
                 self.parts.prometheus_url)
        return watch

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
        layout = self.parts.layout
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
                                 for r in self.parts.replicas[service]],
                }
                for service in SERVICES
            ],
        }
        postgres = self.parts.database.server
        assert postgres is not None
        config["proxies"].append({
            "name": "postgres", "listen_port": 0, "control_port": 0, "check": "tcp",
            "backends": [{"name": "postgres-0", "host": HOST, "port": postgres.port}],
        })
        write_json_atomic(layout.proxy_config, config)
        layout.proxy_ports.unlink(missing_ok=True)
        argv = [sys.executable, "-m", "tradestorm.local.proxy", str(layout.proxy_config)]
        self.parts.proxy = Helper("proxy", argv, layout.log("proxy"),
                                  marker=f"tradestorm.local.proxy {layout.proxy_config}")
        self.parts.proxy.start()
        deadline = time.monotonic() + 30
        while not layout.proxy_ports.exists():
            if not self.parts.proxy.running:
                raise ComponentError("proxy", "exited at start: " + log_tail(layout.log("proxy")))
            if time.monotonic() > deadline:
                raise ComponentError("proxy", "did not start listening within 30s")
            await asyncio.sleep(0.05)
        self.parts.proxy_ports = json.loads(layout.proxy_ports.read_text())["proxies"]
        # a restarted proxy process must come back on the same addresses
        for entry in config["proxies"]:
            bound = self.parts.proxy_ports[entry["name"]]
            entry["listen_port"] = int(bound["listen"].rsplit(":", 1)[1])
            entry["control_port"] = int(bound["control_url"].rsplit(":", 1)[1])
        write_json_atomic(layout.proxy_config, config)

    async def _start_prometheus(self) -> None:
        binary = prom.find_binary()
        layout = self.parts.layout
        port = free_port()
        self.parts.write_prometheus_config()
        argv = prom.command(binary, config=layout.prometheus_config,
                            data_dir=layout.prometheus_data, listen=f"{HOST}:{port}")
        self.parts.prometheus = Helper("prometheus", argv, layout.log("prometheus"),
                                       marker=f"--config.file={layout.prometheus_config}")
        self.parts.prometheus_url = f"http://{HOST}:{port}"
        self.parts.prometheus.start()
        self.parts.save()
        deadline = time.monotonic() + 30
        while True:
            if not self.parts.prometheus.running:
                raise ComponentError("prometheus", "exited at start: "
                                     + log_tail(layout.log("prometheus")))
            if await self._get_ok(f"{self.parts.prometheus_url}/-/ready"):
                return
            if time.monotonic() > deadline:
                raise ComponentError("prometheus", "not ready within 30s")
            await asyncio.sleep(0.1)

    async def _get_ok(self, url: str) -> bool:
        assert self._session is not None
        try:
            async with self._session.get(url) as resp:
                await resp.read()
                return resp.status == 200
        except (TimeoutError, aiohttp.ClientError, OSError):
            return False

    # ------------------------------------------------------------------ control actions
    def kill_replicas(self, service: str, count: int, sig: signal.Signals,
                      names: list[str] | None = None) -> list[dict[str, Any]]:
        import random

        running = [r for r in self.parts.replicas[service] if r.running]
        if names:
            running = [r for r in running if r.name in names]
        chosen = random.sample(running, min(count, len(running)))
        killed = []
        for r in chosen:
            assert r.process is not None
            pid = r.process.pid
            with contextlib.suppress(ProcessLookupError):
                r.process.send_signal(sig)
            r.ready = False
            killed.append({"name": r.name, "pid": pid, "signal": sig.name})
            log.warning("%s (pid %d) killed with %s on request", r.name, pid, sig.name)
        return killed

    async def stop_database(self, mode: str = "fast",
                            duration_s: float | None = None) -> dict[str, Any]:
        """Stop PostgreSQL; with ``duration_s`` it is started again by itself afterwards."""
        await self.parts.database.stop(mode, duration_s)
        return self.parts.database.view(self.parts.proxy_dsn)

    async def start_database(self) -> dict[str, Any]:
        await self.parts.database.start()
        return self.parts.database.view(self.parts.proxy_dsn)

    # ------------------------------------------------------------------ control API
    async def _start_control_api(self) -> None:
        from tradestorm.local.supervisor.control import make_app

        self._runner = web.AppRunner(make_app(self), handle_signals=False, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, HOST, 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.parts.control_url = f"http://{HOST}:{port}"

    # ------------------------------------------------------------------ shutdown
    async def shutdown(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        if self.parts.phase != "failed":
            self.parts.phase = "stopping"
            self.parts.step = ""
        with contextlib.suppress(Exception):
            self.parts.save()
        log.info("stopping: services")
        procs = [r.record for rs in self.parts.replicas.values() for r in rs
                 if r.running and r.record is not None]
        for r in (r for rs in self.parts.replicas.values() for r in rs):
            r.restart_at = None
        await asyncio.to_thread(terminate, procs, STOP_GRACE_S)
        for rs in self.parts.replicas.values():
            for r in rs:
                if r.process is not None:
                    with contextlib.suppress(Exception):
                        r.process.wait(timeout=1)
        for helper in (self.parts.proxy, self.parts.prometheus):
            if helper is None:
                continue
            log.info("stopping: %s", helper.name)
            helper.restart_at = None
            if helper.running and helper.record is not None:
                await asyncio.to_thread(terminate, [helper.record], STOP_GRACE_S)
            if helper.process is not None:
                with contextlib.suppress(Exception):
                    helper.process.wait(timeout=1)
        await self.parts.database.shutdown()
        if self._session is not None:
            await self._session.close()
        if self._runner is not None:
            with contextlib.suppress(Exception):
                await self._runner.cleanup()
        if self.parts.phase == "failed":
            # keep the error for `tradestorm up` to report, but nothing runs any more
            with contextlib.suppress(Exception):
                data = self.parts.state()
                data["phase"] = "failed"
                write_json_atomic(self.parts.layout.root / "last-error.json", data)
        self.parts.layout.state_file.unlink(missing_ok=True)
        log.info("stopped")

