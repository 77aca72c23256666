"""Benchmark: tradestorm's instrumented trader (journal + client metrics on) against
bare Locust ``FastHttpUser``, same trivial endpoint, same run.

Both post orders (``POST /v1/orders`` with a fresh client order id) as fast as
they can (no think time) to the same FAKE gateway (``loadtests.fakegateway``,
uvicorn + httptools in its own process, answering a canned 201). The bare user
only sends; the instrumented one is ``loadtests.users.Trader``: it journals the
intent and the acknowledgement (flushed and fsynced every 0.5 s), parses the
answer, classifies the outcome and feeds the Prometheus client metrics (served,
registered via file_sd, and scraped every second by this script, as the local
Prometheus would). Rounds alternate which variant runs first; the verdict
is the median over rounds of instrumented/bare (the two runs of a round are
adjacent in time, so noise from other processes largely cancels). CPU time per
request of the Locust process is printed too: the overhead as a cost.

    uv run python benchmarks/bench_load.py [--seconds 8] [--rounds 5] [--users 10]

Floor: instrumented >= 0.85 x bare throughput (exit 1 below it).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import urllib.request
from pathlib import Path

FLOOR = 0.85

# appended to both locustfiles: steady-state requests, wall time and CPU time of
# the Locust process, from "all users spawned" to "test stopped" (startup excluded)
MEASURE = textwrap.dedent("""
    import json as _json, os as _os, time as _time
    from locust import events as _events

    _mark = {}

    @_events.spawning_complete.add_listener
    def _spawned(user_count, **_kw):
        _mark.update(t=_time.perf_counter(), cpu=_time.process_time(),
                     n=_mark["env"].runner.stats.total.num_requests)

    @_events.init.add_listener
    def _init(environment, **_kw):
        _mark["env"] = environment

    @_events.test_stop.add_listener
    def _stopped(environment, **_kw):
        if "t" not in _mark:
            return
        with open(_os.environ["BENCH_OUT"], "w") as fh:
            _json.dump({"requests": environment.runner.stats.total.num_requests - _mark["n"],
                        "seconds": _time.perf_counter() - _mark["t"],
                        "cpu": _time.process_time() - _mark["cpu"]}, fh)
""")

# client order ids unique per process, as the Trader's are: with a bare "bare-<n>" every round
# after the first re-sent the ids of the earlier rounds to the same (long-lived) gateway, which
# answered them as cheap idempotent replays (200, nothing stored) instead of new orders (201)
BARE = textwrap.dedent("""
    import itertools, os
    from locust import FastHttpUser, constant, task

    _ids = itertools.count(1)
    _prefix = f"bare-{os.getpid()}-"

    class BareOrderUser(FastHttpUser):
        wait_time = constant(0)

        @task
        def submit_order(self):
            self.client.post("/v1/orders", name="/v1/orders", headers={"X-API-Key": "k1"}, json={
                "client_order_id": f"{_prefix}{next(_ids)}", "symbol": "AAPL", "side": "BUY",
                "type": "LIMIT", "quantity": 10, "price": "100.0000"})
""")

# the module, not the class: Locust runs every User class in a locustfile's namespace, and an
# imported ``Trader`` would run beside the benchmarked one (half the users, with think time)
INSTRUMENTED = textwrap.dedent("""
    from loadtests import users
    from loadtests.hooks import install

    class InstrumentedTrader(users.Trader):
        actions = ((1, "submit_order"),)
        market_share = 0.0

        def wait_time(self):
            return 0

    install()
""")


def start_gateway() -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "loadtests.fakegateway"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line.startswith("listening "):
        proc.kill()
        raise SystemExit(f"fake gateway did not start: {line}")
    return proc, line.split()[1]


class Scraper(threading.Thread):
    """Scrapes the load process's client metrics every second, as the local Prometheus does
    (found through its file_sd registration in STATE/prometheus/targets)."""

    def __init__(self, state_dir: Path) -> None:
        super().__init__(daemon=True)
        self.state_dir = state_dir
        self.scrapes = 0
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.wait(1.0):
            for target in (self.state_dir / "prometheus" / "targets").glob("load-*.json"):
                try:
                    address = json.loads(target.read_text())[0]["targets"][0]
                    with urllib.request.urlopen(f"http://{address}/metrics", timeout=2) as resp:
                        resp.read()
                    self.scrapes += 1
                except (OSError, ValueError, KeyError, IndexError):
                    pass  # the process is starting or ending

    def stop(self) -> None:
        self._halt.set()
        self.join(timeout=5)


def run_locust(
    locustfile: Path, url: str, workdir: Path, seconds: float, users: int, extra: list[str]
) -> tuple[float, int, int, float, int]:
    """(requests/s, requests, failures, CPU us per request, metrics scrapes): steady state."""
    cmd = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(locustfile),
        "--headless",
        "--host",
        url,
        "-u",
        str(users),
        "-r",
        str(users * 10),
        "-t",
        f"{seconds:g}s",
        "--json",
        "--loglevel",
        "WARNING",
        "--exit-code-on-error",
        "0",
        *extra,
    ]
    measure = workdir / "measure.json"
    env = {**os.environ, "BENCH_OUT": str(measure)}
    scraper = Scraper(workdir / "state")
    scraper.start()
    try:
        out = subprocess.run(
            cmd, cwd=workdir, capture_output=True, text=True, env=env, timeout=seconds + 60
        )
    finally:
        scraper.stop()
    if out.returncode != 0 or not measure.exists():
        raise SystemExit(f"locust failed ({out.returncode}):\n{out.stderr[-3000:]}")
    stats = json.loads(out.stdout)  # Locust's final statistics, printed after it stopped
    failures = sum(s["num_failures"] for s in stats)
    others = {f"{s['method']} {s['name']}" for s in stats} - {"POST /v1/orders"}
    if others - {"GET /v1/marketdata/symbols"}:  # the Trader asks for the symbols once
        raise SystemExit(f"{locustfile.name} sent more than orders: {sorted(others)}")
    m = json.loads(measure.read_text())
    count = int(m["requests"])
    return count / m["seconds"], count, failures, m["cpu"] / max(count, 1) * 1e6, scraper.scrapes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--users", type=int, default=10)
    args = parser.parse_args()

    gateway, url = start_gateway()
    names = ("bare FastHttpUser", "tradestorm Trader")
    rates: dict[str, list[float]] = {n: [] for n in names}
    cpu_us: dict[str, list[float]] = {n: [] for n in names}
    journaled = 0
    try:
        with tempfile.TemporaryDirectory(prefix="bench-load-") as tmp:
            root = Path(tmp)
            (root / "bare.py").write_text(BARE + MEASURE)
            (root / "instrumented.py").write_text(INSTRUMENTED + MEASURE)
            (root / "accounts.json").write_text(
                json.dumps(
                    {"accounts": [{"account_id": "acct-k1", "name": "bench", "api_key": "k1"}]}
                )
            )
            for n in range(args.rounds):
                for name in names if n % 2 == 0 else names[::-1]:  # alternate who goes first
                    work = root / f"{name.split()[0]}{n}"
                    work.mkdir()
                    if name == names[0]:
                        rps, count, fails, cpu, scrapes = run_locust(
                            root / "bare.py", url, work, args.seconds, args.users, []
                        )
                        note = ""
                    else:
                        rps, count, fails, cpu, scrapes = run_locust(
                            root / "instrumented.py",
                            url,
                            work,
                            args.seconds,
                            args.users,
                            [
                                "--accounts-file",
                                str(root / "accounts.json"),
                                "--journal-dir",
                                str(work / "journal"),
                                "--state-dir",
                                str(work / "state"),
                            ],
                        )
                        acks = sum(
                            p.read_text().count('"kind":"ack"')
                            for p in (work / "journal").glob("*.jsonl")
                        )
                        journaled += acks
                        note = f", {acks} acknowledged orders journaled, metrics scraped {scrapes}x"
                    rates[name].append(rps)
                    cpu_us[name].append(cpu)
                    print(
                        f"round {n + 1}: {name:<18} {rps:8.1f} req/s  "
                        f"{cpu_us[name][-1]:6.1f} CPU us/request  ({count} requests, "
                        f"{fails} failures{note})",
                        flush=True,
                    )
    finally:
        gateway.terminate()
        gateway.wait(timeout=10)
        if gateway.stdout:
            gateway.stdout.close()

    bare_cpu, inst_cpu = (statistics.median(cpu_us[n]) for n in names)
    # each round's two runs are adjacent in time: their ratio cancels most of the noise
    # from other processes; the verdict is the median of those per-round ratios
    pairs = [i / b for b, i in zip(rates[names[0]], rates[names[1]], strict=True) if b]
    ratio = statistics.median(pairs) if pairs else 0.0
    print()
    print(f"{'variant':<20}{'median req/s':>14}{'median CPU us/req':>20}   req/s per round")
    for name in names:
        print(
            f"{name:<20}{statistics.median(rates[name]):>14.1f}"
            f"{statistics.median(cpu_us[name]):>20.1f}   "
            + ", ".join(f"{v:.1f}" for v in rates[name])
        )
    print("\ninstrumented / bare per round: " + ", ".join(f"{p:.3f}" for p in pairs))
    print(
        f"throughput instrumented / bare = {ratio:.3f} (median per round; floor {FLOOR}): "
        f"{'PASS' if ratio >= FLOOR else 'FAIL'}"
    )
    print(
        f"CPU per request bare / instrumented = {bare_cpu / inst_cpu:.3f} "
        f"({bare_cpu:.0f} vs {inst_cpu:.0f} us: the overhead as cost, less sensitive to "
        "other processes on the machine)"
    )
    print(f"{journaled} orders journaled in all")
    return 0 if ratio >= FLOOR else 1


if __name__ == "__main__":
    sys.exit(main())
