"""Benchmark: the open-model (arrival-rate) load generator's highest sustained order rate
per core, beside bare Locust ``FastHttpUser`` in the same run.

Both post orders (``POST /v1/orders``, a fresh client order id each) to the same
FAKE gateway (``loadtests.fakegateway``, its own process, a canned 201).

* bare: ``FastHttpUser``, ``--users`` users without think time (a closed loop as
  fast as it goes): orders per CPU-second of the Locust process;
* open model: ``loadtests/locustfile.py`` with ``constant-arrival-rate`` at each
  offered rate of ``--rates`` (the scheduler, one greenlet per order, the order
  journal, the Prometheus client metrics and the HDR latency intervals all on).
  A rate is *sustained* when no send was dropped, at least 99 % of the schedule
  was sent and the sends were on time (p99 of intended-time minus sent-time
  latency, read from ``latency.hlog``, under ``--late-ms``). Its cost is CPU time
  of the Locust process per order; orders per core-second = 1 / that.

Both measure the steady state only (from 2 s after the users are spawned to the
stop). The figure compared is orders per core-second: bare at saturation, the
open model at its highest sustained rate. Goal: open / bare >= 0.9 (reported,
not enforced: the machine is shared).

The open model runs with the generator's default ``--send-tick`` (1 ms: orders due
less than a tick apart go out together); ``--send-tick 0`` measures it waking for
every order.

    uv run python benchmarks/bench_loadgen.py [--seconds 10] [--rates 1000,2000,3000,4000]
        [--users 10] [--late-ms 20] [--send-tick 1ms]
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
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.bench_load import BARE  # noqa: E402 - the same bare user as bench_load

GOAL = 0.9

# appended to both locustfiles: requests and CPU time of the Locust process in the steady state
MEASURE = textwrap.dedent("""
    import json as _json, os as _os, time as _time
    import gevent as _gevent
    from locust import events as _events

    _mark = {}

    def _start_measuring():
        _gevent.sleep(2.0)
        _mark.update(t=_time.perf_counter(), cpu=_time.process_time(),
                     n=_mark["env"].runner.stats.total.num_requests)

    @_events.spawning_complete.add_listener
    def _spawned(user_count, **_kw):
        if "g" not in _mark:
            _mark["g"] = _gevent.spawn(_start_measuring)

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


OPEN = textwrap.dedent(f"""
    import sys
    sys.path.insert(0, {str(REPO)!r})
    exec(open({str(REPO / "loadtests" / "locustfile.py")!r}).read())
""")

ACCOUNTS = {"accounts": [{"account_id": f"acct-b{i}", "name": f"loadtest-{i:04d}",
                          "api_key": f"b{i}"} for i in range(1, 9)]}


def start_gateway() -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen([sys.executable, "-m", "loadtests.fakegateway"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=REPO)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line.startswith("listening "):
        proc.kill()
        raise SystemExit(f"fake gateway did not start: {line}")
    return proc, line.split()[1]


def run_locust(locustfile: Path, workdir: Path, args: list[str], seconds: float) -> dict:
    measure = workdir / "measure.json"
    measure.unlink(missing_ok=True)
    cmd = [sys.executable, "-m", "locust", "-f", str(locustfile), "--headless", "--json",
           "--loglevel", "WARNING", "--exit-code-on-error", "0", *args]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRADESTORM_", "LOCUST_"))}
    env["BENCH_OUT"] = str(measure)
    out = subprocess.run(cmd, cwd=workdir, capture_output=True, text=True, env=env,
                         timeout=seconds + 90)
    if out.returncode != 0 or not measure.exists():
        raise SystemExit(f"locust failed ({out.returncode}):\n{out.stderr[-3000:]}")
    stats = json.loads(out.stdout)
    others = {f"{s['method']} {s['name']}" for s in stats} - {"POST /v1/orders"}
    if others - {"GET /v1/marketdata/symbols"}:
        raise SystemExit(f"{locustfile.name} sent more than orders: {sorted(others)}")
    result = json.loads(measure.read_text())
    result["failures"] = sum(s["num_failures"] for s in stats)
    return result


def bare_run(workdir: Path, url: str, users: int, seconds: float) -> dict:
    locustfile = workdir / "bare_locustfile.py"
    locustfile.write_text(BARE + MEASURE)
    return run_locust(locustfile, workdir, ["--host", url, "-u", str(users), "-r",
                                            str(users * 10), "-t", f"{seconds:g}s"], seconds)


def open_run(workdir: Path, url: str, rate: float, seconds: float, tick: str | None) -> dict:
    from loadtests.latency_log import read_totals

    locustfile = workdir / "open_locustfile.py"
    locustfile.write_text(OPEN + MEASURE)
    accounts = workdir / "accounts.json"
    accounts.write_text(json.dumps(ACCOUNTS))
    results = workdir / f"open-{rate:g}"
    (results / "journal").mkdir(parents=True, exist_ok=True)
    result = run_locust(locustfile, results, [
        "--host", url, "--load-profile", "constant-arrival-rate", "--rate", str(rate),
        "--target-users", "2000", "--profile-duration", f"{seconds + 3:g}s",
        "--accounts-file", str(accounts), "--journal-dir", str(results / "journal"),
        *(["--send-tick", tick] if tick is not None else []),
    ], seconds)
    sends = json.loads((results / "sends.json").read_text())
    totals = read_totals(results / "latency.hlog")
    late_ms = (totals["intended.all"].get_value_at_percentile(99)
               - totals["sent.all"].get_value_at_percentile(99)) / 1000.0
    result.update(scheduled=sends["scheduled"], sent=sends["sent"], dropped=sends["dropped"],
                  late_p99_ms=late_ms)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rates", default="1000,2000,3000,4000")
    parser.add_argument("--users", type=int, default=10)
    parser.add_argument("--bare-rounds", type=int, default=2)
    parser.add_argument("--late-ms", type=float, default=20.0)
    parser.add_argument("--send-tick", default=None,
                        help="the open model's --send-tick (default: the generator's)")
    args = parser.parse_args()
    rates = [float(r) for r in args.rates.split(",") if r.strip()]

    gateway, url = start_gateway()
    try:
        with tempfile.TemporaryDirectory(prefix="bench-loadgen-") as tmp:
            workdir = Path(tmp)
            bare_per_core = []
            for i in range(args.bare_rounds):
                r = bare_run(workdir, url, args.users, args.seconds)
                per_core = r["requests"] / r["cpu"]
                bare_per_core.append(per_core)
                print(f"bare FastHttpUser round {i + 1}: {r['requests'] / r['seconds']:.0f} "
                      f"orders/s, {r['cpu'] / r['requests'] * 1e6:.0f} us CPU per order, "
                      f"{per_core:.0f} orders per core-second")
            best = None
            for rate in rates:
                r = open_run(workdir, url, rate, args.seconds, args.send_tick)
                per_core = r["requests"] / r["cpu"] if r["cpu"] else 0.0
                sustained = (r["dropped"] == 0 and r["sent"] >= 0.99 * r["scheduled"]
                             and r["late_p99_ms"] < args.late_ms)
                print(f"open model at {rate:g} orders/s: made {r['requests'] / r['seconds']:.0f}"
                      f" orders/s, dropped {r['dropped']}, p99 lateness {r['late_p99_ms']:.1f} "
                      f"ms, {r['cpu'] / max(r['requests'], 1) * 1e6:.0f} us CPU per order, "
                      f"{per_core:.0f} orders per core-second: "
                      f"{'sustained' if sustained else 'NOT sustained'}")
                if sustained:
                    best = (rate, per_core)
    finally:
        gateway.terminate()
        gateway.wait(timeout=10)
    bare = statistics.median(bare_per_core)
    if best is None:
        print(f"bare FastHttpUser: {bare:.0f} orders per core-second; open model: no rate "
              "sustained")
        return 1
    rate, per_core = best
    ratio = per_core / bare
    print(f"bare FastHttpUser: {bare:.0f} orders per core-second")
    print(f"open model: {per_core:.0f} orders per core-second (highest sustained offered rate "
          f"{rate:g} orders/s)")
    print(f"ratio open / bare: {ratio:.2f} (goal >= {GOAL})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
