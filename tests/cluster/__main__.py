"""python -m tests.cluster build|install-tools|up|down|status: the test cluster, by hand.

Exit codes: 0 done (status: healthy), 1 status unhealthy or down left something,
2 a piece failed (the message names it and the check), 3 status: nothing runs.
"""

from __future__ import annotations

import argparse
import sys
import time

from tests.cluster import cluster
from tests.cluster.errors import ClusterError
from tests.cluster.layout import ADMIN_KUBECONFIG, CONTEXT


def _log(message: str) -> None:
    print(f"[cluster {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.cluster",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("command", choices=["build", "install-tools", "up", "down", "status"])
    parser.add_argument(
        "--timeout", type=float, default=600, help="seconds up waits for the add-ons"
    )
    args = parser.parse_args(argv)
    try:
        if args.command == "build":
            started = time.monotonic()
            cluster.build(_log)
            _log(f"build done in {time.monotonic() - started:.0f}s")
            return 0
        if args.command == "install-tools":
            cluster.install_tools(_log)
            return 0
        if args.command == "up":
            timings = cluster.up(_log, timeout_s=args.timeout)
            for step, seconds in timings.steps.items():
                _log(f"  {step}: {seconds}s")
            print(f"export KUBECONFIG={ADMIN_KUBECONFIG}   # context {CONTEXT}")
            return 0
        if args.command == "down":
            return 1 if cluster.down(_log) else 0
        state = cluster.status()
        if not state.anything:
            print("nothing runs")
            return 3
        for name, alive in state.processes.items():
            print(f"{name:26} {'running' if alive else 'NOT RUNNING'}")
        print(f"{'API server ready':26} {state.api_ready}")
        print(f"{'node Ready':26} {state.node_ready}")
        return 0 if state.healthy else 1
    except ClusterError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
