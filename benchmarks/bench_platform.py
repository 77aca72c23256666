"""Throughput and latency of the full order path vs a bare FastAPI + asyncpg insert.

    uv run python benchmarks/bench_platform.py [--duration 15] [--concurrency 32] [--repeat 3]

In one run on this machine, against a fresh PostgreSQL each time: durable as the
local target runs it (fsync, synchronous_commit and full_page_writes on: an order
is acknowledged once its commit is on disk), then with the former non-durable
settings (all three off; the platform's sessions still ask for synchronous
commits, which without fsync cost only the WAL write), to measure what durability
costs. In each:
  * baseline: a bare FastAPI + asyncpg endpoint doing one INSERT (one process);
  * full path: POST /v1/orders through the gateway — API-key auth, orders
    (idempotency check, risk call, matching under the per-symbol advisory lock,
    trades, fills, outbox) with portfolio relaying fills to the ledger
    meanwhile — every service as one real process (1 replica each: on 2 cores,
    more replicas only add contention).
Both are driven by the same asyncio + aiohttp client at the same concurrency,
which spends about 0.2 CPU ms per order: the figures are the servers'. (Until
this was changed the client was httpx: about 2.8 CPU ms per order, a whole core
at the bare insert's rate, so the baseline measured the client's ceiling, the
ratio read 0.5–0.7 and moved by ±0.08 from run to run with the client's cost.)
The durable pair runs ``--repeat`` times (3); the median is judged, with the range.
CPU is counted over the measured seconds only (the warm-up's orders are not
counted, so neither is its CPU).

Printed: accepted orders/s, p50/p99 latency, errors, the ratio to the baseline,
each replica's peak resident memory under load, CPU ms per order of each replica,
of PostgreSQL (the server and its backends) and of this client, how busy the
machine was, and the cost of durability (durable / non-durable throughput).
Floors, over the durable runs: no errors in any, the median ratio at least
``THROUGHPUT_FLOOR`` (half the ratio measured, as the former 0.25
was half of the 0.51 the former client measured), every replica's CPU together at
most ``SERVICES_CPU_CEILING_MS`` per order (median), at most ``MEMORY_FLOOR_MB`` per
replica.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Protocol

import aiohttp
import httpx
import psutil

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests" / "platform"))

from platform_cluster import ALL_SERVICES, Cluster, free_port  # noqa: E402
from tradeplat.migrations import migrate_dsn  # noqa: E402
from tradeplat.seed import seed_accounts  # noqa: E402

from tradestorm.local.postgres import DURABILITY, PostgresServer  # noqa: E402

SYMBOLS = ("AAPL", "MSFT", "GOOG", "AMZN", "TSLA")
REFERENCE = {"AAPL": 190, "MSFT": 410, "GOOG": 160, "AMZN": 180, "TSLA": 240}
THROUGHPUT_FLOOR = 0.08
SERVICES_CPU_CEILING_MS = 4.0
MEMORY_FLOOR_MB = 150


class NonDurablePostgres(PostgresServer):
    """The local PostgreSQL as it ran before orders had to survive a crash."""

    def server_settings(self) -> dict[str, str]:
        return {**super().server_settings(), **{k: "off" for k in DURABILITY}}


@dataclass
class Result:
    name: str
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    accepted: int = 0
    rejected: int = 0
    errors: dict[str, int] = field(default_factory=dict)

    @property
    def throughput(self) -> float:
        return self.accepted / self.seconds if self.seconds else 0.0

    def percentile(self, q: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def order_body(rng: random.Random) -> dict[str, object]:
    symbol = rng.choice(SYMBOLS)
    side = rng.choice(("BUY", "SELL"))
    body: dict[str, object] = {"client_order_id": uuid.uuid4().hex, "symbol": symbol,
                               "side": side, "type": "LIMIT",
                               "quantity": rng.randint(1, 10)}
    # Prices around the reference so that about half the orders cross and trade.
    offset = rng.randint(-5, 5) / 100
    body["price"] = f"{REFERENCE[symbol] + offset:.2f}"
    return body


class Meter(Protocol):
    """Something measured over the counted window only: from the end of the warm-up
    to the last answer, the window whose orders the figures are divided by."""

    def begin(self) -> None: ...

    def end(self) -> None: ...


async def drive(url: str, path: str, headers: list[dict[str, str]], *, concurrency: int,
                duration_s: float, warmup_s: float, name: str,
                meters: Sequence[Meter] = ()) -> Result:
    result = Result(name)
    # aiohttp: about 0.2 CPU ms per order here. httpx (httpcore's pool) spent about
    # 2.8 ms: the bare insert then measured this client's one core, not the insert.
    connector = aiohttp.TCPConnector(limit=concurrency)
    timeout = aiohttp.ClientTimeout(total=10)
    async with aiohttp.ClientSession(base_url=url, connector=connector,
                                     timeout=timeout) as client:
        start = time.perf_counter()
        measure_from = start + warmup_s
        stop_at = measure_from + duration_s

        async def user(index: int) -> None:
            rng = random.Random(index)
            while True:
                now = time.perf_counter()
                if now >= stop_at:
                    return
                sent = time.perf_counter()
                try:
                    async with client.post(path, json=order_body(rng),
                                           headers=headers[index % len(headers)]) as r:
                        outcome = str(r.status)
                        status = (await r.json()).get("status") if r.status == 201 else None
                except (aiohttp.ClientError, TimeoutError) as exc:
                    outcome, status = type(exc).__name__, None
                done = time.perf_counter()
                if sent < measure_from:
                    continue
                if outcome == "201" and status != "REJECTED":
                    result.accepted += 1
                    result.latencies.append(done - sent)
                elif outcome == "201":
                    result.rejected += 1
                    result.latencies.append(done - sent)
                else:
                    result.errors[outcome] = result.errors.get(outcome, 0) + 1

        async def begin_measuring() -> None:
            await asyncio.sleep(max(0.0, measure_from - time.perf_counter()))
            for meter in meters:
                meter.begin()

        await asyncio.gather(begin_measuring(), *(user(i) for i in range(concurrency)))
        result.seconds = time.perf_counter() - measure_from
        for meter in meters:
            meter.end()
    return result


class RssSampler:
    """Peak resident memory of each process while the load runs (warm-up included),
    and its CPU seconds over the counted window (a :class:`Meter`)."""

    def __init__(self, pids: dict[str, int], interval_s: float = 0.25) -> None:
        self.procs = {name: psutil.Process(pid) for name, pid in pids.items()}
        self.peak = {name: 0 for name in pids}
        self.cpu_s: dict[str, float] = {}
        self._cpu_start: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(interval_s,), daemon=True)

    def _run(self, interval_s: float) -> None:
        while not self._stop.is_set():
            for name, proc in self.procs.items():
                try:
                    self.peak[name] = max(self.peak[name], proc.memory_info().rss)
                except psutil.Error:
                    pass
            self._stop.wait(interval_s)

    def _cpu(self, proc: psutil.Process) -> float:
        times = proc.cpu_times()
        return float(times.user + times.system)

    def begin(self) -> None:
        self._cpu_start = {name: self._cpu(p) for name, p in self.procs.items()}

    def end(self) -> None:
        self.cpu_s = {name: self._cpu(p) - self._cpu_start[name]
                      for name, p in self.procs.items()}

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


class RunCpu:
    """CPU spent over the counted window (a :class:`Meter`) by a process and its
    children (``cpu_s``: PostgreSQL and its backends; a backend that exits before the
    end is not counted, the pools keep theirs), by this process (``client_cpu_s``: the
    client driving the load), and the machine's busy share of all its cores
    (``machine_busy``)."""

    def __init__(self, pid: int) -> None:
        self.root = psutil.Process(pid)
        self.cpu_s = 0.0
        self.client_cpu_s = 0.0
        self.machine_busy = float("nan")
        self._start: dict[int, float] = {}
        self._client_start = 0.0
        self._machine_start = psutil.cpu_times()

    def _snapshot(self) -> dict[int, float]:
        seen: dict[int, float] = {}
        for proc in [self.root, *self.root.children(recursive=True)]:
            try:
                times = proc.cpu_times()
            except psutil.Error:
                continue
            seen[proc.pid] = float(times.user + times.system)
        return seen

    def begin(self) -> None:
        self._start = self._snapshot()
        self._client_start = time.process_time()
        self._machine_start = psutil.cpu_times()

    def end(self) -> None:
        end = self._snapshot()
        self.cpu_s = sum(cpu - self._start.get(pid, 0.0) for pid, cpu in end.items())
        self.client_cpu_s = time.process_time() - self._client_start  # and the samplers'
        machine = psutil.cpu_times()
        busy = sum(getattr(machine, f) - getattr(self._machine_start, f)
                   for f in machine._fields if f not in ("idle", "iowait"))
        total = sum(machine) - sum(self._machine_start)
        self.machine_busy = busy / total if total else float("nan")


def wait_http(url: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise TimeoutError(url)


def run_baseline(dsn: str, server_pid: int, workdir: Path, args: argparse.Namespace
                 ) -> tuple[Result, RssSampler, RunCpu]:
    port = free_port()
    log = (workdir / "baseline.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, str(REPO / "benchmarks" / "platform_baseline_app.py"),
         "--port", str(port), "--dsn", dsn],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    try:
        wait_http(f"http://127.0.0.1:{port}/healthz")
        pg = RunCpu(server_pid)
        with RssSampler({"baseline": proc.pid}) as rss:
            result = asyncio.run(drive(
                f"http://127.0.0.1:{port}", "/orders", [{}], concurrency=args.concurrency,
                duration_s=args.duration, warmup_s=args.warmup, name="baseline (1 insert)",
                meters=(rss, pg)))
        return result, rss, pg
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def run_full_path(dsn: str, server_pid: int, workdir: Path, args: argparse.Namespace
                  ) -> tuple[Result, RssSampler, RunCpu, dict[str, object]]:
    from tradeplat.config import load_settings

    settings = load_settings({"TRADEPLAT_DATABASE_URL": dsn})
    seeded = asyncio.run(seed_accounts(settings, count=args.accounts, cash=Decimal(10**9),
                                       shares=100_000))
    headers = [{"X-API-Key": a["api_key"]} for a in seeded["accounts"]]
    cluster = Cluster(dsn, workdir / "cluster", replicas_per_service={s: 1 for s in ALL_SERVICES},
                      log_level="WARNING")
    with cluster:
        cluster.start(timeout_s=90)
        pids = {r.name: r.pid for r in cluster.all_replicas()}
        pg = RunCpu(server_pid)
        with RssSampler(pids) as rss:
            result = asyncio.run(drive(
                cluster.url("gateway"), "/v1/orders", headers, concurrency=args.concurrency,
                duration_s=args.duration, warmup_s=args.warmup,
                name="full path (gateway→orders→risk, matching, outbox)", meters=(rss, pg)))
        extra = asyncio.run(_after_load(dsn))
    return result, rss, pg, extra


async def _after_load(dsn: str) -> dict[str, object]:
    import asyncpg

    conn = await asyncpg.connect(dsn)
    try:
        deadline = time.monotonic() + 30
        while True:
            pending = await conn.fetchval(
                "SELECT count(*) FROM outbox WHERE delivered_at IS NULL")
            if pending == 0 or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.2)
        return {
            "trades": await conn.fetchval("SELECT count(*) FROM trades"),
            "outbox_pending_after_30s": pending,
            "unbalanced_assets": await conn.fetchval(
                "SELECT count(*) FROM (SELECT asset FROM ledger_entries GROUP BY asset "
                "HAVING sum(amount) <> 0) x"),
        }
    finally:
        await conn.close()


@dataclass
class ModeResult:
    name: str
    baseline: Result
    baseline_rss: RssSampler
    baseline_pg: RunCpu
    full: Result
    rss: RssSampler
    pg: RunCpu
    extra: dict[str, object]

    @property
    def ratio(self) -> float:
        return self.full.throughput / self.baseline.throughput if self.baseline.throughput else 0.0

    @property
    def services_ms(self) -> float:
        """CPU ms per order of every replica together (PostgreSQL and the client not included)."""
        return sum(cpu_per_order(self.rss, n, self.full) for n in self.rss.peak)


def run_mode(name: str, server_class: type[PostgresServer], workdir: Path,
             args: argparse.Namespace) -> ModeResult:
    workdir.mkdir(parents=True)
    server = server_class(data_dir=workdir / "pg", port=free_port(),
                          log_file=workdir / "pg.log", database="postgres")
    server.start()
    try:
        asyncio.run(migrate_dsn(server.dsn))
        pid = server.pid()
        assert pid is not None
        baseline, baseline_rss, baseline_pg = run_baseline(server.dsn, pid, workdir, args)
        full, rss, pg, extra = run_full_path(server.dsn, pid, workdir, args)
    finally:
        server.stop(mode="fast")
    return ModeResult(name, baseline, baseline_rss, baseline_pg, full, rss, pg, extra)


def cpu_per_order(sampler: RssSampler, name: str, result: Result) -> float:
    return per_order(sampler.cpu_s.get(name, 0.0), result)


def per_order(cpu_s: float, result: Result) -> float:
    orders = result.accepted + result.rejected
    return 1000 * cpu_s / orders if orders else float("nan")


def print_mode(mode: ModeResult) -> None:
    print(f"\n== {mode.name}")
    header = f"{'run':<52} {'accepted/s':>10} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}"
    print(header)
    print("-" * len(header))
    for r in (mode.baseline, mode.full):
        errors = sum(r.errors.values())
        print(f"{r.name:<52} {r.throughput:>10.1f} {r.percentile(0.50):>8.1f} "
              f"{r.percentile(0.99):>8.1f} {errors:>7}")
    full, extra = mode.full, mode.extra
    print(f"full path / baseline throughput: {mode.ratio:.2f} (floor {THROUGHPUT_FLOOR})")
    print(f"full path: {full.accepted} accepted, {full.rejected} risk-rejected, "
          f"errors {full.errors or 'none'}; trades {extra['trades']}, outbox pending after "
          f"drain {extra['outbox_pending_after_30s']}, unbalanced assets "
          f"{extra['unbalanced_assets']}")
    print(f"\n{'replica':<16} {'peak RSS MB':>12} {'CPU ms/order':>13}")
    print("-" * 43)
    print(f"{'baseline':<16} {mode.baseline_rss.peak['baseline'] / 2**20:>12.1f} "
          f"{cpu_per_order(mode.baseline_rss, 'baseline', mode.baseline):>13.2f}")
    for name, peak in sorted(mode.rss.peak.items()):
        print(f"{name:<16} {peak / 2**20:>12.1f} {cpu_per_order(mode.rss, name, full):>13.2f}")
    print(f"{'full path total':<16} {'':>12} {mode.services_ms:>13.2f}  (PostgreSQL and the "
          "client not included)")
    for label, tree, result in (("full path", mode.pg, full),
                                ("bare insert", mode.baseline_pg, mode.baseline)):
        print(f"{label}: CPU ms per order, PostgreSQL {per_order(tree.cpu_s, result):.2f}, "
              f"the client {per_order(tree.client_cpu_s, result):.2f} "
              f"({client_load(tree, result):.0%} of one core); machine busy "
              f"{100 * tree.machine_busy:.0f} %")
    bare = (cpu_per_order(mode.baseline_rss, "baseline", mode.baseline)
            + per_order(mode.baseline_pg.cpu_s, mode.baseline)
            + per_order(mode.baseline_pg.client_cpu_s, mode.baseline))
    floor = per_order(mode.pg.cpu_s, full) + per_order(mode.pg.client_cpu_s, full)
    print(f"CPU per order, everything: bare insert {bare:.2f} ms, full path "
          f"{mode.services_ms + floor:.2f} ms; with services that cost nothing the full path "
          f"would still take {floor:.2f} ms (PostgreSQL and the client): at most "
          f"{bare / floor:.2f} of the bare insert on a saturated machine")


def client_load(tree: RunCpu, result: Result) -> float:
    """How much of one core this (single-threaded) client used: near 100 %, the run
    measured the client's ceiling, not the server's."""
    return tree.client_cpu_s / result.seconds if result.seconds else float("nan")


def print_repeats(modes: list[ModeResult]) -> ModeResult:
    """One line per repeat of a mode, the medians; returns the repeat of the median ratio."""
    print(f"\n== {modes[0].name}: {len(modes)} runs, each on a fresh database")
    header = (f"{'run':<5} {'baseline/s':>10} {'full/s':>8} {'ratio':>6} {'services ms':>12} "
              f"{'PostgreSQL ms':>14} {'client ms':>10} {'bare client core':>17}")
    print(header)
    print("-" * len(header))
    for i, m in enumerate(modes, 1):
        print(f"{i:<5} {m.baseline.throughput:>10.1f} {m.full.throughput:>8.1f} "
              f"{m.ratio:>6.2f} {m.services_ms:>12.2f} {per_order(m.pg.cpu_s, m.full):>14.2f} "
              f"{per_order(m.pg.client_cpu_s, m.full):>10.2f} "
              f"{client_load(m.baseline_pg, m.baseline):>17.0%}")
    ratios = sorted(m.ratio for m in modes)
    services = sorted(m.services_ms for m in modes)
    print(f"median ratio {statistics.median(ratios):.2f} (range {ratios[0]:.2f}–{ratios[-1]:.2f}), "
          f"median services CPU {statistics.median(services):.2f} ms per order "
          f"(range {services[0]:.2f}–{services[-1]:.2f}); CPU ms per order of the full "
          "path; 'bare client core': the client's busy share of its one core during the bare "
          "insert (near 100 %, it measured the client)")
    return sorted(modes, key=lambda m: m.ratio)[(len(modes) - 1) // 2]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=15.0, help="measured seconds per run")
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--accounts", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=3,
                        help="durable runs (baseline then full path, each on a fresh database); "
                             "the ratio's median is judged, the detail shown is that run's")
    args = parser.parse_args()
    if args.repeat < 1:
        parser.error("--repeat: must be at least 1")

    with tempfile.TemporaryDirectory(prefix="bench-platform-") as tmp:
        repeats = [run_mode("durable: fsync, synchronous_commit, full_page_writes on (the local "
                            "target)", PostgresServer, Path(tmp) / f"durable-{i}", args)
                   for i in range(args.repeat)]
        loose = run_mode("non-durable: fsync, synchronous_commit, full_page_writes off (the "
                         "former settings)", NonDurablePostgres, Path(tmp) / "loose", args)

    print(f"\nplatform benchmark — {psutil.cpu_count()} CPUs, load average "
          f"{psutil.getloadavg()[0]:.1f}, concurrency {args.concurrency}, "
          f"{args.duration:.0f}s measured after {args.warmup:.0f}s warm-up per run; CPU "
          "figures over the measured seconds only")
    durable = print_repeats(repeats)
    print("\nthe durable run of the median ratio, in detail:")
    for mode in (durable, loose):
        print_mode(mode)
    cost = (durable.full.throughput / loose.full.throughput
            if loose.full.throughput else float("nan"))
    base_cost = (durable.baseline.throughput / loose.baseline.throughput
                 if loose.baseline.throughput else float("nan"))
    print(f"\ndurability: full path {durable.full.throughput:.1f} vs {loose.full.throughput:.1f} "
          f"orders/s ({cost:.2f}×), p99 {durable.full.percentile(0.99):.1f} vs "
          f"{loose.full.percentile(0.99):.1f} ms; bare insert baseline {base_cost:.2f}×")
    worst = max(peak for m in repeats for peak in m.rss.peak.values()) / 2**20
    services = statistics.median(m.services_ms for m in repeats)
    ok = (durable.ratio >= THROUGHPUT_FLOOR
          and not any(m.full.errors or m.baseline.errors for m in repeats)
          and worst <= MEMORY_FLOOR_MB and services <= SERVICES_CPU_CEILING_MS)
    print(f"floors (durable runs: median throughput ≥ {THROUGHPUT_FLOOR}× baseline, median "
          f"services ≤ {SERVICES_CPU_CEILING_MS} CPU ms per order, no errors in any run, "
          f"≤ {MEMORY_FLOOR_MB} MB per replica): {'MET' if ok else 'NOT MET'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
