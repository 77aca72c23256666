"""Benchmark: the local target's service proxy against a direct connection to the same replica.

Starts PostgreSQL, ONE real tradeplat replica and the real proxy process
(``python -m tradestorm.local.proxy``) with that replica as its only backend,
then alternates rounds of direct and proxied traffic (same client, same
endpoint, same concurrency) and prints requests/s and p50/p99 side by side.
Floor (issue 3): proxied throughput >= 0.8 x direct.

    uv run python benchmarks/bench_proxy.py [--seconds 3] [--rounds 3] [--concurrency 16]

The client is a minimal asyncio HTTP/1.1 keep-alive client (a few lines of
protocol code, so that the client's own cost stays far below the server's);
``--new-connections`` opens a connection per request instead (the proxy's
accept + connect path).

A failed request (reset, refused, cut short, or a non-200 such as uvicorn's 503
beyond the replica's ``limit_concurrency`` = TRADEPLAT_MAX_CONCURRENCY, 512 by
default) is counted and reported per mode, never a crash, together with the
proxy's own connect-failure counters. Keep ``--concurrency`` well below that
limit so that direct and proxied runs measure the same thing.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psutil

from tradestorm.local.postgres import PostgresServer, free_port
from tradestorm.local.processes import spawn

REQUEST = b"GET /healthz HTTP/1.1\r\nHost: bench\r\n\r\n"


async def _one_connection(host: str, port: int, stop_at: float, latencies: list[float],
                          new_connections: bool, errors: collections.Counter[str]) -> None:
    reader = writer = None
    while time.perf_counter() < stop_at:
        t0 = time.perf_counter()
        try:
            if writer is None:
                reader, writer = await asyncio.open_connection(host, port)
            assert reader is not None
            writer.write(REQUEST)
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            if length:
                await reader.readexactly(length)
        except (OSError, asyncio.IncompleteReadError) as exc:
            # a reset or refused connection is an error to count, not a reason to stop
            errors[type(exc).__name__] += 1
            if writer is not None:
                writer.close()
            writer = None
            continue
        if not head.startswith(b"HTTP/1.1 200"):
            errors[head[:12].decode(errors="replace")] += 1
        else:
            latencies.append(time.perf_counter() - t0)
        if new_connections:
            writer.close()
            writer = None
    if writer is not None:
        writer.close()


def run_round(port: int, seconds: float, concurrency: int, new_connections: bool) -> dict:
    errors: collections.Counter[str] = collections.Counter()

    async def main() -> list[float]:
        latencies: list[float] = []
        stop_at = time.perf_counter() + seconds
        await asyncio.gather(*(_one_connection("127.0.0.1", port, stop_at, latencies,
                                               new_connections, errors)
                               for _ in range(concurrency)))
        return latencies

    t0 = time.perf_counter()
    lat = asyncio.run(main())
    elapsed = time.perf_counter() - t0
    lat.sort()
    if not lat:
        lat = [float("nan")]
    return {"requests": len(lat), "rps": len(lat) / elapsed, "errors": dict(errors),
            "p50_ms": 1000 * lat[len(lat) // 2], "p99_ms": 1000 * lat[int(len(lat) * 0.99)]}


def proxy_counters(control_url: str) -> dict[str, float]:
    """The proxy's own failure counters (connects to the replica that failed, ...)."""
    wanted = ("tradestorm_proxy_connect_failures_total", "tradestorm_proxy_no_backend_total")
    out = {}
    for line in httpx.get(f"{control_url}/metrics", timeout=5).text.splitlines():
        name = line.split("{", 1)[0]
        if name in wanted:
            out[name.removeprefix("tradestorm_proxy_").removesuffix("_total")] = float(
                line.rsplit(" ", 1)[1])
    return out


def wait_http(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{url} not ready")
        time.sleep(0.2)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--new-connections", action="store_true")
    ap.add_argument("--service", default="marketdata")
    args = ap.parse_args()

    root = Path(tempfile.mkdtemp(prefix="bench-proxy-"))
    pg = PostgresServer(data_dir=root / "pg", port=free_port(), log_file=root / "pg.log",
                        database="tradeplat")
    procs: list[subprocess.Popen[bytes]] = []
    try:
        pg.start()
        env = {k: v for k, v in os.environ.items() if not k.startswith("TRADEPLAT_")}
        env.update(TRADEPLAT_DATABASE_URL=pg.dsn, TRADEPLAT_ADMIN_KEY="bench",
                   TRADEPLAT_LOG_LEVEL="WARNING")
        subprocess.run([sys.executable, "-m", "tradeplat", "migrate"], env=env, check=True,
                       capture_output=True, timeout=120)
        replica_port = free_port()
        procs.append(spawn([sys.executable, "-m", "tradeplat", args.service, "--host",
                            "127.0.0.1", "--port", str(replica_port)],
                           log_file=root / "replica.log", env=env))
        config = {"ports_file": str(root / "ports.json"), "proxies": [{
            "name": args.service, "check": "http",
            "backends": [{"name": "r0", "host": "127.0.0.1", "port": replica_port}]}]}
        (root / "proxy.json").write_text(json.dumps(config))
        procs.append(spawn([sys.executable, "-m", "tradestorm.local.proxy",
                            str(root / "proxy.json")], log_file=root / "proxy.log"))
        wait_http(f"http://127.0.0.1:{replica_port}/healthz")
        deadline = time.monotonic() + 30
        while not (root / "ports.json").exists():
            if time.monotonic() > deadline:
                raise RuntimeError("proxy did not start")
            time.sleep(0.1)
        ports = json.loads((root / "ports.json").read_text())["proxies"][args.service]
        listen, control_url = ports["listen"], ports["control_url"]
        proxy_port = int(listen.rsplit(":", 1)[1])
        wait_http(f"http://{listen}/healthz")

        run_round(replica_port, 1.0, args.concurrency, args.new_connections)  # warm-up
        results: dict[str, list[dict]] = {"direct": [], "proxied": []}
        counters_before = proxy_counters(control_url)
        replica_ps, proxy_ps = psutil.Process(procs[0].pid), psutil.Process(procs[1].pid)
        cpu = {k: {"replica": 0.0, "proxy": 0.0} for k in ("direct", "proxied")}

        def cpu_s(ps: psutil.Process) -> float:
            t = ps.cpu_times()
            return t.user + t.system

        for _ in range(args.rounds):
            for kind, port in (("direct", replica_port), ("proxied", proxy_port)):
                before = cpu_s(replica_ps), cpu_s(proxy_ps)
                results[kind].append(run_round(port, args.seconds, args.concurrency,
                                               args.new_connections))
                cpu[kind]["replica"] += cpu_s(replica_ps) - before[0]
                cpu[kind]["proxy"] += cpu_s(proxy_ps) - before[1]

        def med(kind: str, key: str) -> float:
            return statistics.median(r[key] for r in results[kind])

        mode = "new connection per request" if args.new_connections else "keep-alive"
        print(f"proxy benchmark: GET /healthz on one {args.service} replica, {mode}, "
              f"concurrency {args.concurrency}, {args.rounds} x {args.seconds:g}s rounds "
              f"(median of rounds); load average {os.getloadavg()[0]:.1f}")
        print(f"{'':10}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}")
        for kind in ("direct", "proxied"):
            print(f"{kind:10}{med(kind, 'rps'):>10.0f}{med(kind, 'p50_ms'):>10.2f}"
                  f"{med(kind, 'p99_ms'):>10.2f}")
        for kind in ("direct", "proxied"):
            errors: collections.Counter[str] = collections.Counter()
            for r in results[kind]:
                errors.update(r["errors"])
            total = sum(r["requests"] for r in results[kind]) + sum(errors.values())
            print(f"{kind} errors: {sum(errors.values())} of {total} requests"
                  + (f" {dict(errors)}" if errors else ""))
        for kind in ("direct", "proxied"):
            n = sum(r["requests"] for r in results[kind]) or 1
            print(f"{kind} CPU per request (noise-robust): replica "
                  f"{1e6 * cpu[kind]['replica'] / n:.0f} us, "
                  f"proxy {1e6 * cpu[kind]['proxy'] / n:.0f} us")
        counters = proxy_counters(control_url)
        print("proxy counters during the rounds: " + ", ".join(
            f"{k} +{counters[k] - counters_before.get(k, 0):g}" for k in counters))
        if any(r["errors"] for rs in results.values() for r in rs):
            print("proxy's view of the replica:",
                  httpx.get(f"{control_url}/backends", timeout=5).json()["backends"])
            for log in ("proxy.log", "replica.log"):
                lines = (root / log).read_text(errors="replace").splitlines()
                print(f"--- last lines of {log}:", *lines[-8:], sep="\n  ")
        ratio = med("proxied", "rps") / med("direct", "rps")
        print(f"proxied/direct throughput: {ratio:.2f} (floor 0.80) -> "
              f"{'OK' if ratio >= 0.8 else 'BELOW FLOOR'}")
        print(f"added latency: p50 {med('proxied', 'p50_ms') - med('direct', 'p50_ms'):+.2f} ms, "
              f"p99 {med('proxied', 'p99_ms') - med('direct', 'p99_ms'):+.2f} ms")
        return 0 if ratio >= 0.8 else 1
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
        pg.stop(mode="immediate")
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
