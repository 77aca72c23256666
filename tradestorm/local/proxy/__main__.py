"""``python -m tradestorm.local.proxy CONFIG``: run every proxy of a target in one process."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import logging
import os
import signal
import sys
from pathlib import Path
from typing import Any

from tradestorm.errors import TradestormError
from tradestorm.local.state import write_json_atomic


async def serve(config_path: Path) -> None:
    from aiohttp import web

    from tradestorm.local.proxy.backends import Backend, BackendPool
    from tradestorm.local.proxy.config import ProxyProcessConfig
    from tradestorm.local.proxy.control import make_app
    from tradestorm.local.proxy.service import ServiceProxy

    config = ProxyProcessConfig.load(config_path)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    proxies: list[ServiceProxy] = []
    runners: list[web.AppRunner] = []
    ports: dict[str, Any] = {}
    try:
        for pc in config.proxies:
            pool = BackendPool(
                [Backend(b.name, b.host, b.port) for b in pc.backends],
                check=pc.check, interval_s=config.health_interval_s,
            )
            proxy = ServiceProxy(pc.name, config.host, pc.listen_port, pool)
            await proxy.start()
            proxies.append(proxy)
            runner = web.AppRunner(make_app(proxy), handle_signals=False, access_log=None)
            await runner.setup()
            runners.append(runner)
            site = web.TCPSite(runner, config.host, pc.control_port, reuse_address=True)
            await site.start()
            control_port = runner.addresses[0][1]
            ports[pc.name] = {
                "listen": proxy.listen,
                "control_url": f"http://{config.host}:{control_port}",
            }
        # Every proxied connection leaves a few short-lived objects (and cycles)
        # behind: keep what startup built out of the collector's way and
        # collect young objects less often.
        gc.collect()
        gc.freeze()
        gc.set_threshold(5000, 10, 10)
        write_json_atomic(config.ports_file, {"pid": os.getpid(), "proxies": ports})
        logging.info("proxies ready: %s", ports)
        await stop.wait()
    finally:
        for runner in runners:
            with contextlib.suppress(Exception):
                await runner.cleanup()
        for proxy in proxies:
            with contextlib.suppress(Exception):
                await proxy.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tradestorm.local.proxy")
    parser.add_argument("config", type=Path)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop ships with uvicorn[standard]
        runner = asyncio.run
    else:
        runner = uvloop.run
    try:
        runner(serve(args.config))
    except TradestormError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
