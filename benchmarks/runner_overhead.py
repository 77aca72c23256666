"""Benchmark: what ``tradestorm run`` costs around the phases it was asked for.

Runs ``steady-baseline`` (short phases) against a local target as a real
``tradestorm run`` process and prints, side by side:

- the baseline: the planned phase time (warmup + baseline), which no harness
  can go below;
- the run's wall time, and the harness overhead split into start (process
  start to load start: imports, versions, Locust start) and wrap-up (load
  stop, reconcile, Prometheus snapshot, gate, report);
- the CPU the runner process itself used (live progress polling included),
  per second of phases, against the CPU of the load generator it drives.

    uv run python benchmarks/runner_overhead.py [--baseline 20] [--state-dir DIR]

Brings a local target up in a temporary state folder when --state-dir names
no running one, and takes it down afterwards.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", type=float, default=20.0)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--users", type=int, default=6)
    parser.add_argument("--state-dir", type=Path)
    args = parser.parse_args()

    from tradestorm.local.target import LocalTarget

    tmp = Path(tempfile.mkdtemp(prefix="tradestorm-bench-"))
    state_dir = args.state_dir or tmp / "state"
    target = LocalTarget(state_dir=state_dir)
    started_target = False
    if not target.status().running:
        t0 = time.perf_counter()
        target.up(wait=True, timeout_s=180)
        started_target = True
        print(f"local target up in {time.perf_counter() - t0:.1f} s (not part of the figures)")
    try:
        results = tmp / "results"
        cmd = [sys.executable, "-m", "tradestorm", "run", "steady-baseline",
               "--warmup", f"{args.warmup}s", "--baseline", f"{args.baseline}s",
               "--users", str(args.users), "--state-dir", str(state_dir),
               "--results", str(results)]
        t_start = time.time()
        proc = psutil.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        locust_cpu = 0.0
        runner_cpu = 0.0
        while proc.poll() is None:
            try:
                runner_cpu = sum(proc.cpu_times()[:2])
                for child in proc.children(recursive=False):
                    if "locust" in " ".join(child.cmdline()):
                        locust_cpu = max(locust_cpu, sum(child.cpu_times()[:2]))
            except psutil.Error:
                pass
            time.sleep(0.5)
        t_end = time.time()
        run = json.loads((results / "run.json").read_text())
        warm = run["warmup"]
        phases = run["phases"]
        planned = args.warmup + args.baseline
        phase_time = phases[-1]["end"] - warm["start"]
        start_overhead = warm["start"] - t_start
        wrap_up = t_end - phases[-1]["end"]
        stages = {k: v.get("seconds") for k, v in run["stages"].items() if "seconds" in v}
        print(f"exit code {proc.returncode}, verdict {run['verdict']}")
        print(f"{'':<34}{'baseline (planned)':>20}{'tradestorm run':>16}")
        print(f"{'phases (warmup + baseline)':<34}{planned:>18.1f} s{phase_time:>14.1f} s")
        print(f"{'wall time of the run':<34}{planned:>18.1f} s{t_end - t_start:>14.1f} s")
        load = run["stages"].get("load", {})
        print(f"{'  start (to the warmup)':<34}{'':>20}{start_overhead:>14.1f} s")
        if "started_at" in load:
            print(f"{'    process, imports, versions':<34}{'':>20}"
                  f"{load['started_at'] - t_start:>14.1f} s")
        if "visible_at" in load and "started_at" in load:
            print(f"{'    Locust start until scraped':<34}{'':>20}"
                  f"{load['visible_at'] - load['started_at']:>14.1f} s")
        print(f"{'  wrap-up (after the phases)':<34}{'':>20}{wrap_up:>14.1f} s")
        for name, seconds in stages.items():
            print(f"{'    ' + name:<34}{'':>20}{seconds:>14.2f} s")
        locust_share = f"locust {locust_cpu / phase_time:.3f}"
        runner_share = f"runner {runner_cpu / (t_end - t_start):.3f}"
        print(f"{'CPU seconds per second':<34}{locust_share:>20}{runner_share:>16}")
    finally:
        if started_target:
            target.down()


if __name__ == "__main__":
    main()
