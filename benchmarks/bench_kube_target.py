"""Benchmark: the Kubernetes target against a FAKE API server, side by side with baselines.

In one run:
  render    ``kubectl kustomize`` of the kind overlay on every call (baseline)
            vs ``tradestorm.kube.render.render_overlay`` (cached while no file
            of k8s/ changes), 5 calls each;
  apply     ``KubernetesTarget.up(wait=False)`` (served-kinds check, then one
            server-side-apply PATCH per object; a finished Job is deleted and
            re-created) vs the classic create-or-replace loop (GET, then POST or
            PUT: two requests per object), both on a FAKE API server
            (tests/fakes/kube_apiserver.py) through the same kubernetes client,
            first install and re-apply.

    uv run python benchmarks/bench_kube_target.py [--rounds 3]

The fake answers in microseconds, so the apply figures measure the client
side (requests, serialisation), not a real API server's latency: on a cluster
the request count is what matters, and it is printed too.
"""

from __future__ import annotations

import argparse
import io
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.fakes.kube_apiserver import FakeKubeApiServer  # noqa: E402  (a FAKE, named so)
from tradestorm.kube.client import KubeConnection  # noqa: E402
from tradestorm.kube.render import render_overlay  # noqa: E402
from tradestorm.kube.target import KubernetesTarget  # noqa: E402


def copy_manifests(tmp: Path) -> Path:
    root = tmp / "k8s"
    shutil.copytree(REPO / "k8s", root, ignore=shutil.ignore_patterns("secrets.env"))
    (root / "overlays/kind/secrets.env").write_text(
        f"POSTGRES_PASSWORD={secrets.token_hex(24)}\nTRADEPLAT_ADMIN_KEY={secrets.token_hex(32)}\n")
    return root


def bench_render(overlay: Path, calls: int) -> tuple[float, float]:
    t0 = time.perf_counter()
    for _ in range(calls):
        subprocess.run(["kubectl", "kustomize", str(overlay)], check=True, capture_output=True)
    baseline = (time.perf_counter() - t0) / calls
    t0 = time.perf_counter()
    for _ in range(calls):
        render_overlay(overlay)
    ours = (time.perf_counter() - t0) / calls
    return baseline, ours


def create_or_replace(conn: KubeConnection, objects: list[dict]) -> None:
    """The baseline: what a client without server-side apply does."""
    for obj in objects:
        res = conn.resource(obj["apiVersion"], obj["kind"])
        ns = obj["metadata"].get("namespace") if res.namespaced else None
        current = conn.get(obj["apiVersion"], obj["kind"], obj["metadata"]["name"], ns)
        if current is None:
            conn.dynamic.create(res, body=obj, namespace=ns)
        else:
            body = dict(obj, metadata={**obj["metadata"],
                                       "resourceVersion": current["metadata"]["resourceVersion"]})
            conn.dynamic.replace(res, body=body, namespace=ns)


def bench_apply(manifests: Path, tmp: Path) -> dict[str, tuple[float, float, int]]:
    out: dict[str, tuple[float, float, int]] = {}
    with FakeKubeApiServer(simulate_workloads=True) as fake:  # Jobs complete when written
        cfg = fake.write_kubeconfig(tmp / "kc-ssa", contexts=["bench"])
        target = KubernetesTarget("bench", overlay="kind", allowed_contexts=["bench"],
                                  kubeconfig=cfg, manifests_dir=manifests, out=io.StringIO(),
                                  poll_interval_s=0.01)
        objects = target.render()
        times = []
        for _ in range(2):
            fake.clear_requests()
            t0 = time.perf_counter()
            target.up(wait=False)
            times.append(time.perf_counter() - t0)
        out["server-side apply (tradestorm)"] = (times[0], times[1], len(fake.requests))
    with FakeKubeApiServer() as fake:
        cfg = fake.write_kubeconfig(tmp / "kc-cor", contexts=["bench"])
        times = []
        for _ in range(2):
            fake.clear_requests()
            t0 = time.perf_counter()
            conn = KubeConnection("bench", cfg)  # up() connects (and discovers) each time too
            create_or_replace(conn, objects)
            conn.close()
            times.append(time.perf_counter() - t0)
        out["create-or-replace (baseline)"] = (times[0], times[1], len(fake.requests))
    return out


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp_s:
        tmp = Path(tmp_s)
        manifests = copy_manifests(tmp)
        overlay = manifests / "overlays/kind"
        renders = [bench_render(overlay, 5) for _ in range(args.rounds)]
        base = statistics.median(r[0] for r in renders)
        ours = statistics.median(r[1] for r in renders)
        print(f"render kind overlay   kubectl kustomize each call (baseline): {base * 1000:8.1f} ms"
              f"   render_overlay cached: {ours * 1000:8.1f} ms   ({base / ours:,.0f}x)")
        results = [bench_apply(manifests, tmp / f"r{i}") for i in range(args.rounds)
                   if (tmp / f"r{i}").mkdir() is None]
        for name in results[0]:
            first = statistics.median(r[name][0] for r in results)
            again = statistics.median(r[name][1] for r in results)
            reqs = results[0][name][2]
            print(f"apply {len(render_overlay(overlay))} objects  {name:32s} first install "
                  f"{first * 1000:7.1f} ms  re-apply {again * 1000:7.1f} ms  "
                  f"requests (all, incl. discovery) {reqs}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
