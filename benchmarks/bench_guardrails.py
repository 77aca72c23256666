"""How fast a guardrail stops a fault: from its condition becoming true to the fault removed.

Runs the real ``tradestorm run`` (a database outage under load, a client-error
guardrail) on a local target and reads run.json's ``stages.guardrails.tripped``.
The goal: removed within ``for:`` + 2 s of the condition becoming true.

    python3 -m uv run python benchmarks/bench_guardrails.py [--for 5s] [--state-dir DIR]

Without ``--state-dir`` a fresh local target is brought up in a temporary
folder and taken down afterwards (``--down-after``).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

from slo.durations import parse_duration

REPO = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--for", dest="for_", default="5s", help="the guardrail's for:")
    parser.add_argument("--interval", default="1s", help="the evaluation interval")
    parser.add_argument("--state-dir", type=Path, default=None)
    args = parser.parse_args()
    for_s = parse_duration(args.for_)
    with tempfile.TemporaryDirectory(prefix="bench-guardrails-") as tmp:
        scenario = Path(tmp) / "guarded.yaml"
        scenario.write_text(yaml.safe_dump({
            "name": "bench-guardrails", "description": "guardrail reaction time",
            "targets": ["local"], "load": {"profile": "steady", "users": 6, "seed": 13},
            "experiment": "database-outage",
            "phases": {"warmup": "3s", "baseline": "6s", "fault": "60s", "recovery": "6s"},
            "guardrails": {"interval": args.interval, "stop": [
                {"name": "client-errors", "query": "client:errors:ratio_rate10s",
                 "above": 0.05, "for": args.for_}]},
        }))
        results = Path(tmp) / "results"
        state = args.state_dir or Path(tmp) / "state"
        cmd = [sys.executable, "-m", "tradestorm", "run", str(scenario), "--results",
               str(results), "--state-dir", str(state)]
        if args.state_dir is None:
            cmd.append("--down-after")
        done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=900)
        if done.returncode != 3:
            print(done.stdout[-3000:], done.stderr[-3000:], sep="\n")
            print(f"expected exit 3 (aborted), got {done.returncode}")
            return 1
        trip = json.loads((results / "run.json").read_text())["stages"]["guardrails"]["tripped"]
    true_at, tripped, removed = (trip["condition_true_at"], trip["tripped_at"],
                                 trip["fault_removed_at"])
    reaction = removed - true_at
    goal = for_s + 2.0
    print(f"guardrail for: {for_s:g}s, interval {args.interval}")
    print(f"condition true -> tripped:       {tripped - true_at:6.2f} s")
    print(f"tripped -> fault removed:        {removed - tripped:6.2f} s")
    print(f"condition true -> fault removed: {reaction:6.2f} s  (goal <= for: + 2 s = "
          f"{goal:g} s: {'met' if reaction <= goal else 'MISSED'})")
    return 0 if reaction <= goal else 1


if __name__ == "__main__":
    raise SystemExit(main())
