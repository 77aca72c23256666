"""The ``tradeplat`` command (contracts.md §1).

    tradeplat SERVICE --host 127.0.0.1 --port PORT
    tradeplat migrate
    tradeplat seed --accounts N [--cash 1000000] [--shares 100000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from decimal import Decimal, InvalidOperation

from tradeplat.errors import ConfigError
from tradeplat.services import SERVICES


def _decimal_arg(value: str) -> Decimal:
    try:
        parsed = Decimal(value)
    except InvalidOperation:
        raise argparse.ArgumentTypeError(f"not a decimal number: {value!r}") from None
    if not parsed.is_finite() or parsed < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0: {value!r}")
    return parsed


def _non_negative_int(value: str) -> int:
    try:
        parsed = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {value!r}") from None
    if parsed < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0: {value!r}")
    return parsed


def _port(value: str) -> int:
    parsed = _non_negative_int(value)
    if not 0 < parsed < 65536:
        raise argparse.ArgumentTypeError(f"not a TCP port: {value!r}")
    return parsed


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tradeplat", description="tradestorm's reference trading platform"
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for service in SERVICES:
        p = sub.add_parser(service, help=f"run one {service} replica")
        p.add_argument("--host", default="127.0.0.1")
        p.add_argument("--port", type=_port, required=True)
    sub.add_parser("migrate", help="apply database migrations and exit")
    seed = sub.add_parser("seed", help="create demo accounts and print them as JSON")
    seed.add_argument("--accounts", type=_non_negative_int, required=True)
    seed.add_argument("--cash", type=_decimal_arg, default=Decimal("1000000"))
    seed.add_argument("--shares", type=_non_negative_int, default=100_000)
    return parser


def _exit_after_graceful_stop(signum: int, frame: object) -> None:
    raise SystemExit(0)


def run_service(service: str, host: str, port: int) -> None:
    from tradeplat.config import load_settings

    settings = load_settings()
    settings.require_database_url()

    import uvicorn

    from tradeplat.observability.logs import configure_logging
    from tradeplat.services import create_service_app

    configure_logging(service, settings.replica, settings.log_level)
    app = create_service_app(service, settings)
    # uvicorn drains in-flight requests on SIGTERM, then re-raises the signal
    # with the handler found at start: make that one a clean exit (status 0).
    signal.signal(signal.SIGTERM, _exit_after_graceful_stop)
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_config=None,
        access_log=False,
        proxy_headers=False,
        server_header=False,
        # uvicorn waits forever on None: 0 must mean "do not wait", so pass the number.
        timeout_graceful_shutdown=settings.graceful_shutdown_s,  # type: ignore[arg-type]
        timeout_keep_alive=30,
    )


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command in SERVICES:
            run_service(args.command, args.host, args.port)
            return 0
        from tradeplat.config import load_settings

        settings = load_settings()
        if args.command == "migrate":
            from tradeplat.migrations import migrate_dsn

            applied = asyncio.run(migrate_dsn(settings.require_database_url()))
            print(json.dumps({"applied": applied}))
            return 0
        if args.command == "seed":
            from tradeplat.seed import seed_accounts

            result = asyncio.run(
                seed_accounts(settings, count=args.accounts, cash=args.cash, shares=args.shares)
            )
            print(json.dumps(result))
            return 0
    except ConfigError as exc:
        print(f"tradeplat: configuration error: {exc.message}", file=sys.stderr)
        return 2
    except (OSError, TimeoutError) as exc:  # refused, unreachable, DNS, timeout
        print(f"tradeplat: {args.command}: database unreachable: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        import asyncpg

        if isinstance(exc, asyncpg.PostgresError | asyncpg.InterfaceError):
            print(f"tradeplat: {args.command}: database error: {exc}", file=sys.stderr)
            return 1
        raise
    return 2


if __name__ == "__main__":
    sys.exit(main())
