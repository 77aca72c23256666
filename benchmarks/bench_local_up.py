"""Benchmark: `tradestorm up` to all components ready, and the target's resident memory.

In one run, side by side:
  baseline  PostgreSQL start alone (initialised cluster) and ONE tradeplat
            replica from spawn to /readyz 200 -- the two things `up` cannot
            go faster than;
  up        LocalTarget.up() to every component ready, cold (--fresh: initdb,
            migrations) and warm (data kept from the cold run);
  memory    resident memory of every process of the target (2 replicas per
            service by default): RSS summed, and PSS summed (shared pages
            counted once, the honest figure).
Floors (issue 3): up <= 20 s on this 2-core machine; memory <= 2 GB.

    uv run python benchmarks/bench_local_up.py [--replicas 2]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psutil

from tradestorm.local.handle import LocalTargetHandle
from tradestorm.local.postgres import PostgresServer, free_port
from tradestorm.local.processes import spawn
from tradestorm.local.target import LocalTarget

GB = 1024**3


def baseline(root: Path) -> tuple[float, float]:
    pg = PostgresServer(data_dir=root / "pg", port=free_port(), log_file=root / "pg.log",
                        database="tradeplat")
    pg.init()
    t0 = time.perf_counter()
    pg.start()
    pg_s = time.perf_counter() - t0
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRADEPLAT_")}
    env.update(TRADEPLAT_DATABASE_URL=pg.dsn, TRADEPLAT_ADMIN_KEY="bench",
               TRADEPLAT_LOG_LEVEL="WARNING")
    subprocess.run([sys.executable, "-m", "tradeplat", "migrate"], env=env, check=True,
                   capture_output=True, timeout=120)
    port = free_port()
    t0 = time.perf_counter()
    proc = spawn([sys.executable, "-m", "tradeplat", "marketdata", "--host", "127.0.0.1",
                  "--port", str(port)], log_file=root / "replica.log", env=env)
    try:
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.perf_counter() - t0 > 120:
                raise RuntimeError("replica not ready")
            time.sleep(0.05)
        replica_s = time.perf_counter() - t0
    finally:
        proc.terminate()
        proc.wait(10)
        pg.stop(mode="immediate")
    return pg_s, replica_s


def memory(handle: LocalTargetHandle) -> tuple[int, float, float]:
    rss = pss = 0
    procs = handle.live_processes()
    # PostgreSQL's backends and Prometheus are children of the recorded processes
    seen = {p.pid: p for p in procs}
    for p in list(procs):
        try:
            for child in p.children(recursive=True):
                seen.setdefault(child.pid, child)
        except psutil.Error:
            pass
    for p in seen.values():
        try:
            info = p.memory_full_info()
            rss += info.rss
            pss += getattr(info, "pss", info.rss)
        except psutil.Error:
            pass
    return len(seen), rss / GB, pss / GB


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--replicas", type=int, default=2)
    args = ap.parse_args()
    root = Path(tempfile.mkdtemp(prefix="bench-local-up-"))
    target = LocalTarget(state_dir=root / "state", replicas=args.replicas, fresh=True)
    handle = LocalTargetHandle(target)
    try:
        pg_s, replica_s = baseline(root / "baseline")
        t0 = time.perf_counter()
        target.up(wait=True, timeout_s=300)
        cold_s = time.perf_counter() - t0
        time.sleep(3)  # let every replica settle before measuring memory
        nprocs, rss_gb, pss_gb = memory(handle)
        target.down()
        warm = LocalTarget(state_dir=root / "state", replicas=args.replicas)
        t0 = time.perf_counter()
        warm.up(wait=True, timeout_s=300)
        warm_s = time.perf_counter() - t0
        warm.down()
    finally:
        target.down()
        shutil.rmtree(root, ignore_errors=True)
    print(f"local target up benchmark, {args.replicas} replicas per service, "
          f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")
    print(f"  baseline: PostgreSQL start            {pg_s:6.1f} s")
    print(f"  baseline: one replica to /readyz       {replica_s:6.1f} s")
    print(f"  up, cold (--fresh: initdb + migrate)   {cold_s:6.1f} s   floor 20 s -> "
          f"{'OK' if cold_s <= 20 else 'ABOVE FLOOR'}")
    print(f"  up, warm (data kept)                   {warm_s:6.1f} s   floor 20 s -> "
          f"{'OK' if warm_s <= 20 else 'ABOVE FLOOR'}")
    print(f"  memory: {nprocs} processes, RSS sum {rss_gb:.2f} GB, PSS sum {pss_gb:.2f} GB"
          f"   floor 2 GB -> {'OK' if pss_gb <= 2 else 'ABOVE FLOOR'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
