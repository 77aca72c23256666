"""``python -m tradestorm.local.supervisor --state-dir DIR [--replicas N] [--fresh]``.

Log rotation (``STATE/logs``, see ``logs.py``): ``--log-max-bytes`` and
``--log-keep``, by default ``$TRADESTORM_LOG_MAX_BYTES`` (e.g. ``50M``; ``0`` turns
rotation off) and ``$TRADESTORM_LOG_KEEP``, read once here; ``tradestorm up``
passes its environment on to the supervisor.

Exit codes: 0 stopped cleanly, 1 failed to start (the error is in
``STATE/last-error.json`` and ``STATE/logs/supervisor.log``), 3 another
supervisor already runs on this state folder.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from tradestorm.local.supervisor.logs import RotationPolicy, parse_size
from tradestorm.local.topology import DEFAULT_ACCOUNTS, DEFAULT_REPLICAS


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tradestorm.local.supervisor")
    parser.add_argument("--state-dir", type=Path, required=True)
    parser.add_argument("--replicas", type=int, default=DEFAULT_REPLICAS)
    parser.add_argument("--accounts", type=int, default=DEFAULT_ACCOUNTS)
    parser.add_argument("--fresh", action="store_true")
    parser.add_argument("--timeout", type=float, default=120.0)
    # chosen by `tradestorm up`, so it can find every process of the target even
    # before the first state.json is written
    parser.add_argument("--target-id", default=None)
    parser.add_argument("--log-max-bytes", type=parse_size, default=None,
                        help="rotate a log of STATE/logs beyond this size (e.g. 50M; 0: never)")
    parser.add_argument("--log-keep", type=int, default=None,
                        help="rotated copies kept per log (NAME.log.1 ... NAME.log.N)")
    args = parser.parse_args(argv)
    try:
        policy = RotationPolicy.from_env()
        policy = RotationPolicy(
            max_bytes=policy.max_bytes if args.log_max_bytes is None else args.log_max_bytes,
            keep=policy.keep if args.log_keep is None else args.log_keep,
        )
    except ValueError as exc:
        parser.error(str(exc))
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s %(message)s")

    from tradestorm.local.supervisor.control import make_app
    from tradestorm.local.supervisor.daemon import EXIT_ALREADY_RUNNING, Supervisor
    from tradestorm.local.supervisor.parts import SupervisorOptions

    options = SupervisorOptions(state_dir=args.state_dir.absolute(), replicas=args.replicas,
                                fresh=args.fresh, accounts=args.accounts,
                                start_timeout_s=args.timeout, target_id=args.target_id,
                                log_rotation=policy)
    supervisor = Supervisor(options)
    if not supervisor.acquire_lock():
        print(f"another supervisor runs on {options.state_dir}", file=sys.stderr)
        return EXIT_ALREADY_RUNNING
    try:
        import uvloop

        return uvloop.run(supervisor.run(make_app))
    except ImportError:  # pragma: no cover
        import asyncio

        return asyncio.run(supervisor.run(make_app))


if __name__ == "__main__":
    sys.exit(main())
