"""How fast a guardrail stops a fault: from its condition becoming true to the fault removed.

Runs the real ``tradestorm run`` (a database outage under load, a client-error
guardrail) on a local target and reads run.json's ``stages.guardrails.tripped``.
The goal: removed within ``for:`` + 2 s of the condition becoming true.

    python3 -m uv run python benchmarks/bench_guardrails.py [--for 5s] [--state-dir DIR]

The baseline, measured in the same run: the same fault left to end on its own after
8 s, and how long its removal (the same rollback) takes past that planned end.

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

from inputs.durations import parse_duration

REPO = Path(__file__).resolve().parents[1]


def _run(tmp: Path, doc: dict, state: Path, down_after: bool, expect: int | None = None,
         expect_any: bool = False) -> dict:
    scenario = tmp / f"{doc['name']}.yaml"
    scenario.write_text(yaml.safe_dump(doc))
    results = tmp / f"results-{doc['name']}"
    cmd = [sys.executable, "-m", "tradestorm", "run", str(scenario), "--results", str(results),
           "--state-dir", str(state)]
    if down_after:
        cmd.append("--down-after")
    done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=900)
    # the baseline run's verdict does not matter (short phases), only its fault ledger
    if (done.returncode != expect) if not expect_any else not (results / "run.json").exists():
        print(done.stdout[-3000:], done.stderr[-3000:], sep="\n")
        raise SystemExit(f"{doc['name']}: expected exit {expect}, got {done.returncode}")
    return json.loads((results / "run.json").read_text())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--for", dest="for_", default="5s", help="the guardrail's for:")
    parser.add_argument("--interval", default="1s", help="the evaluation interval")
    parser.add_argument("--state-dir", type=Path, default=None)
    args = parser.parse_args()
    for_s = parse_duration(args.for_)
    base = {"targets": ["local"], "load": {"profile": "steady", "users": 6, "seed": 13},
            "experiment": "database-outage"}
    with tempfile.TemporaryDirectory(prefix="bench-guardrails-") as tmp:
        state = args.state_dir or Path(tmp) / "state"
        guarded = _run(Path(tmp), {
            **base, "name": "bench-guardrails", "description": "guardrail reaction time",
            "phases": {"warmup": "3s", "baseline": "6s", "fault": "60s", "recovery": "6s"},
            "guardrails": {"interval": args.interval, "stop": [
                {"name": "client-errors", "query": "client:errors:ratio_rate10s",
                 "above": 0.05, "for": args.for_}]},
        }, state, down_after=False, expect=3)
        # the baseline, in the same run: the same fault ending on its own after 8 s; how long
        # its removal (the same rollback) takes past its planned end
        natural = _run(Path(tmp), {
            **base, "name": "bench-natural-end", "description": "rollback at the planned end",
            "phases": {"warmup": "3s", "baseline": "6s", "fault": "8s", "recovery": "6s"},
        }, state, down_after=args.state_dir is None, expect_any=True)
    trip = guarded["stages"]["guardrails"]["tripped"]
    true_at, tripped, removed = (trip["condition_true_at"], trip["tripped_at"],
                                 trip["fault_removed_at"])
    fault = natural["faults"][0]
    rollback = fault["end"] - fault["start"] - 8.0
    reaction = removed - true_at
    goal = for_s + 2.0
    print(f"guardrail for: {for_s:g}s, interval {args.interval}")
    print(f"condition true -> tripped:       {tripped - true_at:6.2f} s")
    print(f"tripped -> fault removed:        {removed - tripped:6.2f} s  (baseline: the same "
          f"fault removed at its planned end takes {rollback:.2f} s past it)")
    print(f"condition true -> fault removed: {reaction:6.2f} s  (goal <= for: + 2 s = "
          f"{goal:g} s: {'met' if reaction <= goal else 'MISSED'})")
    return 0 if reaction <= goal else 1


if __name__ == "__main__":
    raise SystemExit(main())
