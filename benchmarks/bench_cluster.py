"""Benchmark: the real test cluster (tests/cluster) and the platform on it, beside the local target.

In one run, side by side:
  build     the cluster's builds: cold = the seconds each cached build took when it was
            made (recorded in the cache), or measured now with --cold (a fresh, empty
            cache folder: every Go build and image from scratch; 30-60 min on 2 cores);
            warm = `python -m tests.cluster build` with everything cached (measured now)
  cluster   `up` with the builds cached, step by step (etcd+containerd, images imported,
            control plane + node Ready, add-ons available, metrics answering), then `down`
  platform  `tradestorm up --target kubernetes --context tradestorm-local --overlay local`
            to every Deployment available and the migrate Job complete, against the
            baseline `tradestorm up` of the local target (2 replicas per service) measured
            in the same run on the same machine.

    sudo uv run python benchmarks/bench_cluster.py [--cold]

Root is required (the cluster runs a kubelet). The cluster is left as it was found: a
cluster that was up stays up (its `up` is then not measured), one that was down is taken
down again.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.cluster.layout import ADMIN_KUBECONFIG, CONTEXT  # noqa: E402
from tests.cluster.paths import CACHE_DIR  # noqa: E402


def _python(*args: str, env: dict[str, str] | None = None) -> float:
    started = time.monotonic()
    subprocess.run(
        [sys.executable, *args],
        cwd=REPO,
        check=True,
        env={**os.environ, **(env or {})},
        stdout=subprocess.DEVNULL,
    )
    return time.monotonic() - started


def recorded_builds() -> list[tuple[str, float]]:
    """Each cached build and the seconds it took when it was made."""
    from tests.cluster.addons import addon_builds
    from tests.cluster.binaries import KUBERNETES_BUILD

    found = []
    # only the builds of the current versions: older keys left in the cache are not this build
    for build in (KUBERNETES_BUILD, *addon_builds()):
        marker = build.out_dir() / ".complete"
        try:
            found.append(
                (f"go build {build.out_dir().name}", float(marker.read_text().strip().rstrip("s")))
            )
        except (OSError, ValueError):
            continue
    for record in sorted((CACHE_DIR / "images" / "logs").glob("*.seconds")):
        try:
            found.append((f"image {record.stem}", float(record.read_text().strip())))
        except ValueError:
            continue
    return found


def bench_build(cold: bool) -> None:
    print("\n== build ==")
    if cold:
        with tempfile.TemporaryDirectory(prefix="bench-cluster-cache-") as tmp:
            seconds = _python("-m", "tests.cluster", "build", env={"TRADESTORM_CLUSTER_CACHE": tmp})
            print(f"cold build (empty cache, measured now): {seconds:8.1f} s")
    else:
        total = 0.0
        for name, seconds in recorded_builds():
            print(f"  cold, as recorded  {name:60} {seconds:8.1f} s")
            total += seconds
        print(f"cold build, sum of the recorded builds: {total:8.1f} s   (--cold measures it now)")
    seconds = _python("-m", "tests.cluster", "build")
    print(f"warm build (everything cached):         {seconds:8.1f} s")


def bench_cluster_up() -> bool:
    """Returns whether this benchmark brought the cluster up (and must take it down)."""
    from tests.cluster import cluster

    print("\n== cluster up (builds cached) ==")
    if cluster.status().healthy:
        print("the cluster is already up: its up is not measured")
        return False
    started = time.monotonic()
    timings = cluster.up()
    for step, seconds in timings.steps.items():
        print(f"  {step:32} {seconds:8.1f} s")
    print(f"cluster up, wall:                 {time.monotonic() - started:8.1f} s")
    return True


def bench_platform() -> None:
    tradestorm = [sys.executable, "-m", "tradestorm"]
    env = {
        **os.environ,
        "KUBECONFIG": str(ADMIN_KUBECONFIG),
        "TRADESTORM_ALLOWED_CONTEXTS": CONTEXT,
    }
    print("\n== platform up ==")
    with tempfile.TemporaryDirectory(prefix="bench-local-") as state:
        started = time.monotonic()
        subprocess.run(
            [*tradestorm, "up", "--state-dir", state],
            cwd=REPO,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        local = time.monotonic() - started
        subprocess.run(
            [*tradestorm, "down", "--state-dir", state],
            cwd=REPO,
            check=True,
            stdout=subprocess.DEVNULL,
        )
    kube_args = ["--target", "kubernetes", "--context", CONTEXT, "--overlay", "local"]
    started = time.monotonic()
    subprocess.run(
        [*tradestorm, "up", *kube_args, "--timeout", "900"],
        cwd=REPO,
        check=True,
        env=env,
        stdout=subprocess.DEVNULL,
    )
    kube = time.monotonic() - started
    subprocess.run(
        [*tradestorm, "down", *kube_args], cwd=REPO, check=True, env=env, stdout=subprocess.DEVNULL
    )
    from tests.cluster import storage

    storage.recycle_released()
    print(f"baseline: local target up (2 replicas/service)     {local:8.1f} s")
    print(
        f"kubernetes target up (overlay local, test cluster)  {kube:8.1f} s   ({kube / local:.1f}x)"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--cold", action="store_true", help="rebuild everything into an empty cache"
    )
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("bench_cluster: root is required (the cluster runs a kubelet)", file=sys.stderr)
        return 2
    bench_build(args.cold)
    brought_up = bench_cluster_up()
    try:
        bench_platform()
    finally:
        if brought_up:
            from tests.cluster import cluster

            started = time.monotonic()
            left = cluster.down()
            print(f"\ncluster down: {time.monotonic() - started:.1f} s, left: {left or 'nothing'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
