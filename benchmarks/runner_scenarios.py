"""Benchmark: loading and validating a scenario, against plain YAML parsing.

``tradestorm run`` validates the scenario (schema, durations, references to
the experiment and the SLO spec, and the SLO spec itself) before anything
starts. This measures that cost per scenario, side by side with the baseline
of parsing the same file with ``yaml.safe_load`` alone, in one run.

    uv run python benchmarks/runner_scenarios.py [--rounds 50]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import yaml

from tradestorm.runner.scenario import available_scenarios, find_scenario, load_scenario_file


def _time(fn, rounds: int) -> list[float]:
    out = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=50)
    args = parser.parse_args()
    header = f"{'scenario':<20} {'yaml.safe_load (baseline)':>26} {'load_scenario_file':>20}"
    print(f"{header} {'ratio':>7}   of which: SLO spec, experiment validation")
    from tradestorm_chaos.validation import load_and_validate

    from slo.validation import load_spec

    for name in available_scenarios():
        path: Path = find_scenario(name)
        text = path.read_text()
        load_scenario_file(path)  # warm imports and caches
        base = _time(lambda: yaml.safe_load(text), args.rounds)  # noqa: B023
        full = _time(lambda: load_scenario_file(path), args.rounds)  # noqa: B023
        b, f = statistics.median(base) * 1000, statistics.median(full) * 1000
        scenario = load_scenario_file(path)
        spec = statistics.median(_time(lambda: load_spec(scenario.slo_spec), args.rounds)) * 1000  # noqa: B023
        exp = 0.0
        if scenario.experiment is not None:
            exp = statistics.median(
                _time(lambda: load_and_validate(scenario.experiment), args.rounds)) * 1000  # noqa: B023
        print(f"{name:<20} {b:>23.3f} ms {f:>17.3f} ms {f / b:>6.1f}x   "
              f"{spec:.1f} ms, {exp:.1f} ms")


if __name__ == "__main__":
    main()
