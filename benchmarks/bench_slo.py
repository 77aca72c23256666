"""Benchmark: the SLO gate evaluating 50 objectives over a run window at 1 s resolution.

A real Prometheus (/usr/bin/prometheus) serves TSDB blocks built with
``promtool tsdb create-blocks-from openmetrics`` from synthetic SLI series (one
per objective, 1 s samples, 4 h). For windows of 15 min, 1 h and 4 h it times:

* baseline: the raw range queries for the same data (one HTTP query_range per
  series and <=11,000-point chunk, sequential, JSON decoded) — the floor any
  evaluator pays;
* gate: ``slo.gate.evaluate`` of a spec with 50 objectives x 3 phases plus the
  whole run (200 judgements) — queries batched per SLI and window, run on 4 threads.

Floor: the 1 h evaluation must take under 2 s. Run:
``uv run python benchmarks/bench_slo.py [--repeat 3]``; exits 1 when the floor is missed.
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from slo.gate import evaluate  # noqa: E402
from slo.run import Phase, RunInfo  # noqa: E402
from slo.validation import load_spec  # noqa: E402

OBJECTIVES = 50
SPAN_S = 4 * 3600
WINDOWS = (("15 min", 900), ("1 h", 3600), ("4 h", 4 * 3600))
FLOOR_S = 2.0
MAX_POINTS = 11_000


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def write_openmetrics(path: Path, start: int) -> None:
    with path.open("w") as out:
        out.write("# TYPE bench:sli_latency_seconds gauge\n")
        for i in range(OBJECTIVES):
            base = 0.05 + i * 0.002
            lines = [
                f'bench:sli_latency_seconds{{sli="s{i:02d}"}} '
                f"{base + 0.02 * math.sin(t / 97.0 + i):.5f} {start + t}\n"
                for t in range(SPAN_S + 1)
            ]
            out.writelines(lines)
        out.write("# EOF\n")


SLI = """\
apiVersion: openslo/v1
kind: SLI
metadata:
  name: sli-{i:02d}
  labels: {{tradestorm.dev/side: client, tradestorm.dev/unit: s}}
spec:
  thresholdMetric:
    metricSource:
      metricSourceRef: prom
      type: Prometheus
      spec: {{query: 'bench:sli_latency_seconds{{sli="s{i:02d}"}}'}}
"""
PHASES = "phases: [baseline, fault, recovery, run]"


def write_spec(path: Path) -> None:
    docs = [
        "apiVersion: openslo/v1\nkind: DataSource\nmetadata: {name: prom}\n"
        "spec: {type: Prometheus}\n"
    ]
    docs += [SLI.format(i=i) for i in range(OBJECTIVES)]
    aggregates = ("p99", "max", "mean", "p95", "compliance")
    objectives = []
    for i in range(OBJECTIVES):
        agg = aggregates[i % len(aggregates)]
        head = f"  - {{name: obj-{i:02d}, sli: sli-{i:02d}, aggregate: {agg}, "
        if agg == "compliance":
            criteria = "threshold: 0.5, thresholdOp: '<=', op: '>=', target: 0.95"
        else:
            criteria = "op: '<=', target: 0.5, warning: 0.3"
        objectives.append(f"{head}{criteria}, {PHASES}}}")
    docs.append(
        "apiVersion: tradestorm.dev/v1\nkind: ResilienceSpec\nmetadata: {name: bench}\nspec:\n"
        "  integrity: false\n  objectives:\n" + "\n".join(objectives) + "\n"
    )
    path.write_text("---\n".join(docs))


def raw_queries(url: str, queries: list[str], start: float, end: float) -> int:
    """The baseline: plain sequential query_range calls, JSON decoded; returns samples."""
    samples = 0
    for query in queries:
        chunk_start = start
        while chunk_start <= end:
            chunk_end = min(end, chunk_start + MAX_POINTS - 1)
            params = urllib.parse.urlencode(
                {"query": query, "start": chunk_start, "end": chunk_end, "step": 1}
            )
            with urllib.request.urlopen(f"{url}/api/v1/query_range?{params}", timeout=60) as r:
                data = json.load(r)
            samples += sum(len(s["values"]) for s in data["data"]["result"])
            chunk_start = chunk_end + 1
    return samples


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="timed repetitions (median shown)")
    args = parser.parse_args()
    for tool in ("/usr/bin/prometheus", "/usr/bin/promtool"):
        if not shutil.which(tool):
            print(f"missing {tool}", file=sys.stderr)
            return 2
    work = Path(tempfile.mkdtemp(prefix="bench-slo-"))
    proc = None
    try:
        start = int(time.time() // 3600 * 3600) - SPAN_S - 3600
        t0 = time.perf_counter()
        write_openmetrics(work / "data.om", start)
        subprocess.run(
            [
                "/usr/bin/promtool",
                "tsdb",
                "create-blocks-from",
                "openmetrics",
                str(work / "data.om"),
                str(work / "tsdb"),
            ],
            check=True,
            capture_output=True,
        )
        build_s = time.perf_counter() - t0
        (work / "prometheus.yml").write_text("global: {scrape_interval: 15s}\n")
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        proc = subprocess.Popen(
            [
                "/usr/bin/prometheus",
                f"--config.file={work / 'prometheus.yml'}",
                f"--storage.tsdb.path={work / 'tsdb'}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--storage.tsdb.retention.time=30d",
                "--log.level=warn",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.time() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/-/ready", timeout=1):
                    break
            except OSError:
                if time.time() > deadline or proc.poll() is not None:
                    print("prometheus did not start", file=sys.stderr)
                    return 2
                time.sleep(0.2)
        write_spec(work / "spec.yaml")
        spec = load_spec(work / "spec.yaml")
        queries = [o.sli.query for o in spec.objectives if o.sli.query]
        print(
            f"data: {OBJECTIVES} series x {SPAN_S + 1} samples at 1 s "
            f"({OBJECTIVES * (SPAN_S + 1):,} samples), built in {build_s:.1f} s; "
            f"Prometheus {url}"
        )
        print(
            f"spec: {len(spec.objectives)} objectives x 4 phases (baseline, fault, recovery, run); "
            f"median of {args.repeat}"
        )
        print()
        print(
            f"{'window':>8} {'samples':>10} {'baseline: raw queries':>22} {'gate evaluate':>14} "
            f"{'ratio':>6} {'judged':>7} {'verdict':>8}"
        )
        floor_ok = True
        # warm Prometheus' caches once so every window is measured alike
        raw_queries(url, queries, start, start + 600)
        for label, length in WINDOWS:
            w_start = float(start)
            w_end = float(start + length)
            third = length / 3
            run = RunInfo(
                start=w_start,
                end=w_end,
                phases=(
                    Phase("baseline", w_start, w_start + third),
                    Phase("fault", w_start + third, w_start + 2 * third),
                    Phase("recovery", w_start + 2 * third, w_end),
                ),
                target="local",
            )
            raw_times, gate_times = [], []
            samples = 0
            result = None
            for _ in range(args.repeat):
                t = time.perf_counter()
                samples = raw_queries(url, queries, w_start, w_end)
                raw_times.append(time.perf_counter() - t)
                t = time.perf_counter()
                result = evaluate(spec, run, url)
                gate_times.append(time.perf_counter() - t)
            assert result is not None
            raw_s, gate_s = statistics.median(raw_times), statistics.median(gate_times)
            judged = sum(1 for o in result.objectives if o.verdict != "no_data")
            ratio = gate_s / raw_s
            print(
                f"{label:>8} {samples:>10,} {raw_s:>20.3f} s {gate_s:>12.3f} s {ratio:>5.2f}x "
                f"{judged:>7} {result.verdict:>8}"
            )
            if length == 3600 and gate_s >= FLOOR_S:
                floor_ok = False
        print()
        print(f"floor: 1 h evaluation under {FLOOR_S:g} s: {'met' if floor_ok else 'MISSED'}")
        return 0 if floor_ok else 1
    finally:
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
