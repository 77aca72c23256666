"""Benchmark: what tradestorm's chaos safety nets cost, and how precise a fault is.

Prints figures side by side with a baseline measured in the same run:

1. **Safety overhead** (against the FAKE Kubernetes API server of tests/fakes):
   ``tradestorm_chaos.execution.run_experiment`` (allow-lists, pre-flight audit,
   rollbacks always, sweep, steady state re-checked, residue audit) against
   plain Chaos Toolkit ``chaoslib.experiment.run_experiment`` on the same
   experiment file (baseline): wall time and API requests.
2. **Kubernetes reads**: the driver's raw-JSON reads against the kubernetes
   client's typed models (baseline), per call.
3. **Fault precision** (``--local``, against a real local target): requested
   latency-fault duration (baseline: the ideal) against the measured window
   between the fault appearing and disappearing on the proxy, and how long the
   removal took to be verified.

    uv run python benchmarks/bench_chaos.py [--repeat 3] [--local [--state-dir DIR]]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "tests" / "experiments"))

NS = "tradestorm"
CONTEXT = "bench"


def _fake_cluster(tmp: Path) -> tuple[Any, Path]:
    from conftest import seed_platform  # the chaos tests' seeding of the fake cluster
    from fakes.kube_apiserver import FakeKubeApiServer

    kube = FakeKubeApiServer(simulate_workloads=True).start()
    seed_platform(kube)
    kubeconfig = kube.write_kubeconfig(tmp / "kubeconfig", contexts=[CONTEXT], namespace=NS)
    return kube, kubeconfig


def bench_safety_overhead(repeat: int, tmp: Path) -> list[tuple[str, str, str]]:
    import yaml
    from chaoslib.experiment import run_experiment as chaoslib_run
    from tradestorm_chaos.execution import run_experiment

    experiment = ROOT / "experiments" / "partition-marketdata.yaml"
    kube, kubeconfig = _fake_cluster(tmp)
    config = {"kubernetes_kubeconfig": str(kubeconfig), "kubernetes_context": CONTEXT,
              "kubernetes_namespace": NS, "fault_duration_s": 1, "tradestorm_target": "kubernetes",
              "tradestorm_residue_timeout_s": 5}
    os.environ["TRADESTORM_ALLOWED_CONTEXTS"] = CONTEXT
    os.environ["TRADESTORM_ALLOWED_NAMESPACES"] = NS
    plain_doc = yaml.safe_load(experiment.read_text())
    plain_doc["configuration"] = {**plain_doc["configuration"], **config}
    ours: list[float] = []
    plain: list[float] = []
    ours_req: list[int] = []
    plain_req: list[int] = []
    try:
        # warm both paths once (imports), then alternate
        chaoslib_run(dict(plain_doc), settings={"runtime": {"rollbacks": {"strategy": "always"}}})
        for _ in range(repeat):
            kube.clear_requests()
            t0 = time.perf_counter()
            journal = chaoslib_run(dict(plain_doc),
                                   settings={"runtime": {"rollbacks": {"strategy": "always"}}})
            plain.append(time.perf_counter() - t0)
            plain_req.append(len(kube.requests))
            assert journal["status"] == "completed", journal["status"]
            kube.clear_requests()
            t0 = time.perf_counter()
            outcome = run_experiment(experiment, target="kubernetes", configuration=config,
                                     journal_path=tmp / "j.json", residue_path=tmp / "r.json",
                                     say=lambda _line: None)
            ours.append(time.perf_counter() - t0)
            ours_req.append(len(kube.requests))
            assert outcome.ok, outcome.to_dict()
    finally:
        kube.stop()
    med = statistics.median
    return [
        ("run wall time (1 s partition, fake API)", f"{med(ours):.2f} s",
         f"{med(plain):.2f} s  (+{med(ours) - med(plain):.2f} s)"),
        ("API requests per run", f"{med(ours_req):.0f}", f"{med(plain_req):.0f}"),
    ]


def bench_kube_reads(calls: int, tmp: Path) -> list[tuple[str, str, str]]:
    from kubernetes import client, config
    from tradestorm_chaos.drivers.kubernetes.api import read_json

    kube, kubeconfig = _fake_cluster(tmp)
    try:
        api = config.new_client_from_config(str(kubeconfig), context=CONTEXT)
        core = client.CoreV1Api(api)
        core.list_namespaced_pod(NS)
        t0 = time.perf_counter()
        for _ in range(calls):
            core.list_namespaced_pod(NS)
        typed = (time.perf_counter() - t0) / calls
        t0 = time.perf_counter()
        for _ in range(calls):
            read_json(core.list_namespaced_pod, NS)
        raw = (time.perf_counter() - t0) / calls
    finally:
        kube.stop()
    return [("list 14 pods (per call)", f"{raw * 1000:.1f} ms (raw JSON)",
             f"{typed * 1000:.1f} ms (typed models)")]


def bench_fault_precision(repeat: int, state_dir: Path | None,
                          tmp: Path) -> list[tuple[str, str, str]]:
    import httpx
    from tradestorm_chaos.execution import run_experiment

    from tradestorm.local.target import LocalTarget

    target = LocalTarget(state_dir=state_dir or tmp / "state")
    started = False
    if not target.status().running:
        t0 = time.perf_counter()
        target.up(wait=True, timeout_s=300)
        started = True
        print(f"(local target up in {time.perf_counter() - t0:.1f} s, not part of the figures)")
    try:
        import json

        state = json.loads((target.state_dir / "state.json").read_text())
        control = state["services"]["risk"]["proxy_control_url"]
        requested = 3.0
        windows: list[float] = []
        removals: list[float] = []
        for _ in range(repeat):
            seen: dict[str, float] = {}
            stop = threading.Event()

            def watch(seen: dict[str, float] = seen, stop: threading.Event = stop) -> None:
                with httpx.Client(timeout=2) as http:
                    while not stop.is_set():
                        faults = http.get(f"{control}/faults").json()["faults"]
                        now = time.time()
                        if faults and "on" not in seen:
                            seen["on"] = now
                        if not faults and "on" in seen and "off" not in seen:
                            seen["off"] = now
                        time.sleep(0.02)

            watcher = threading.Thread(target=watch, daemon=True)
            watcher.start()
            outcome = run_experiment(
                ROOT / "experiments" / "risk-latency.yaml", target="local",
                configuration={"fault_duration_s": requested, "tradestorm_state_dir":
                               str(target.state_dir)},
                journal_path=tmp / "j.json", residue_path=tmp / "r.json", say=lambda _l: None)
            stop.set()
            watcher.join()
            assert outcome.ok, outcome.to_dict()
            windows.append(seen["off"] - seen["on"])
            (fault,) = outcome.faults
            removals.append(seen["off"] - (fault["start"] + requested))
    finally:
        if started:
            target.down()
    med = statistics.median
    return [
        ("latency fault window on the proxy", f"{med(windows):.2f} s", f"{requested:.2f} s"),
        ("removal after the hold ended (verified)", f"{med(removals) * 1000:.0f} ms", "0 ms"),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--local", action="store_true",
                        help="also measure fault precision on a real local target")
    parser.add_argument("--state-dir", type=Path, help="a running local target to reuse")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="tradestorm-bench-chaos-"))
    rows = [*bench_safety_overhead(args.repeat, tmp), *bench_kube_reads(50, tmp)]
    if args.local:
        rows += bench_fault_precision(args.repeat, args.state_dir, tmp)
    width = max(len(r[0]) for r in rows)
    print(f"{'measure':<{width}}  {'tradestorm':>22}  baseline")
    for name, ours, base in rows:
        print(f"{name:<{width}}  {ours:>22}  {base}")


if __name__ == "__main__":
    main()
