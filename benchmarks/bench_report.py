"""Benchmark: building the HTML report of a 10-minute run at 1 s resolution.

Baseline, measured in the same run: loading and parsing the results folder's
JSON and CSV files alone (``reports.results.load_results``), i.e. what any
report must pay before drawing anything. Floor: the full build under 3 s and
the file under 2 MB. A 1-hour run is measured too, to show how it scales.

    uv run python benchmarks/bench_report.py [--repeat 5]

Exits 1 when a floor is broken.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests" / "reports"))

FLOOR_SECONDS = 3.0
FLOOR_BYTES = 2 * 1024 * 1024


def _timed(fn: Callable[[], object], repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    from fixture_results import write_results

    from reports.build import build_report
    from reports.results import load_results

    ok = True
    print(f"{'run':<16}{'series pts':>11}{'load+parse (baseline)':>24}{'build report':>16}"
          f"{'ratio':>8}{'report size':>14}{'input size':>12}")
    with tempfile.TemporaryDirectory(prefix="bench-report-") as tmp:
        for label, duration in (("10 min @ 1 s", 600), ("60 min @ 1 s", 3600)):
            run = write_results(Path(tmp) / label.replace(" ", "_").replace("@", "at"),
                                duration_s=duration)
            input_bytes = sum(p.stat().st_size for p in run.iterdir() if p.is_file())
            baseline = _timed(lambda run=run: load_results(run), args.repeat)
            output = Path(tmp) / f"{duration}.html"
            build = _timed(lambda run=run, output=output: build_report(run, output), args.repeat)
            size = output.stat().st_size
            base_med, build_med = statistics.median(baseline), statistics.median(build)
            points = 18 * (duration + 1)
            print(f"{label:<16}{points:>11,}{base_med * 1000:>21.1f} ms{build_med * 1000:>13.1f} ms"
                  f"{build_med / base_med:>7.1f}x{size / 1024:>11.0f} KB"
                  f"{input_bytes / 1024:>9.0f} KB")
            if duration == 600:
                ok = build_med < FLOOR_SECONDS and size < FLOOR_BYTES
                verdict = "met" if ok else "BROKEN"
                print(f"{'':<16}floor for the 10-minute run: < {FLOOR_SECONDS:.0f} s and "
                      f"< {FLOOR_BYTES // (1024 * 1024)} MB: {verdict} "
                      f"(median of {args.repeat}, min {min(build) * 1000:.1f} ms)")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
