"""``tradestorm load``: run a load profile against a target; statistics and journals to RESULTS.

Closed-model profiles (``steady``, ``ramp``, ``soak``) run ``--users`` users; the
arrival-rate profiles (``constant-arrival-rate``, ``ramping-arrival-rate``, ``spike``,
``market-open``) send ``--rate`` orders per second at the peak (or ``--stages``) with at
most ``--max-in-flight`` orders outstanding (default ``--users``); sends dropped at that
bound are shown in the summary. ``--send-tick`` (default 1 ms, 0 off): orders due within a
tick go out together, each at most a tick late.

Exit codes: 0 the profile ran to its end (failed requests are data for the
gate), 2 bad input (file and field named) or a load generator that broke
(see RESULTS/logs/locust.log), 130 interrupted (the run is stopped gracefully:
statistics written, journals flushed).
"""

from __future__ import annotations

import signal
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from loadtests.errors import ConfigError
from loadtests.profiles import PROFILE_NAMES
from loadtests.settings import parse_duration
from tradestorm.commands.options import state_dir_option
from tradestorm.errors import InputError, TargetError, TradestormError


def _resolve_target(
    target: str, host: str | None, accounts: Path | None, state_dir: Path | None
) -> tuple[str, Path, Path | None]:
    """(gateway URL, accounts file, state folder for metrics registration)."""
    if host:
        if accounts is None and target != "local":
            raise InputError("--accounts", "accounts", "required with --host")
        if accounts is not None:
            return host, accounts, None
    if target != "local":
        raise InputError(
            "--target",
            "target",
            f"{target!r}: this command drives the local target; for another "
            "target give --host URL --accounts FILE",
        )
    from tradestorm.runner.connection import connected

    with connected("local", state_dir=state_dir, say=lambda _line: None) as connection:
        gateway = host or connection.gateway_url
        accounts_file = accounts or connection.accounts_file
        root = connection.state_dir
    if not accounts_file:
        raise TargetError(f"{root}/state.json has no accounts_file: is the target fully up?")
    return str(gateway), Path(accounts_file), root


def _rate(text: str) -> float:
    """``--rate`` as a number; the profile's own rules (``> 0`` for arrival rates) follow."""
    try:
        value = float(text)
    except ValueError:
        raise ConfigError("--rate", "rate", f"not a number: {text!r}") from None
    if value != value or value < 0:  # NaN or negative
        raise ConfigError("--rate", "rate", f"must be a number >= 0, got {text!r}")
    return value


@click.command("load")
@click.option(
    "--profile",
    "profile",
    default="steady",
    show_default=True,
    type=click.Choice(PROFILE_NAMES),
    help="load profile",
)
@click.option("--target", default="local", show_default=True, help="target to drive")
@click.option("--duration", default="60s", show_default=True, help="20s, 5m, 1h30m")
@click.option(
    "--results",
    "results",
    required=True,
    type=click.Path(path_type=Path),
    help="results folder (Locust CSVs, journal/, logs/)",
)
@click.option("--users", type=click.IntRange(min=1), default=None, help="peak users [10]")
@click.option("--seed", type=click.IntRange(min=0), default=1, show_default=True)
@click.option(
    "--processes",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Locust worker processes",
)
@click.option(
    "--rate",
    type=str,
    default="0",
    help="arrival-rate profiles: orders per second at the peak; closed models: user "
    "iterations per second at the peak (0: think times)",
)
@click.option(
    "--stages",
    "rate_stages",
    default="",
    help="ramping-arrival-rate: FROM-TO:RATE[-RATE],... e.g. 0s-30s:0-200,30s-2m:200",
)
@click.option(
    "--max-in-flight",
    type=int,
    default=None,
    help="arrival-rate profiles: orders in flight at most (default: --users)",
)
@click.option(
    "--send-tick",
    default=None,
    help="arrival-rate profiles: the sender wakes at most once per tick and sends what is "
    "due by then, at most a tick late (default 1ms; 0: wake for every order; at most 50ms)",
)
@state_dir_option
@click.option("--host", default=None, help="gateway URL (instead of the running local target)")
@click.option(
    "--accounts", type=click.Path(path_type=Path), default=None, help="accounts JSON (with --host)"
)
def load(
    profile: str,
    target: str,
    duration: str,
    results: Path,
    users: int | None,
    seed: int,
    processes: int,
    rate: str,
    rate_stages: str,
    max_in_flight: int | None,
    send_tick: str | None,
    state_dir: Path | None,
    host: str | None,
    accounts: Path | None,
) -> None:
    """Run a load profile: traders, market watchers, portfolio viewers, analytics users."""
    from loadtests.launcher import DEFAULT_USERS, check_profile_options, start_load
    from loadtests.results import summarize

    duration_s = parse_duration(duration, "--duration", "duration")
    rate_value = _rate(rate)
    check_profile_options(
        profile,
        users=DEFAULT_USERS if users is None else users,
        duration_s=duration_s,
        processes=processes,
        rate=rate_value,
        rate_stages=rate_stages,
        max_in_flight=max_in_flight,
        send_tick=send_tick,
    )
    gateway, accounts_file, registration_dir = _resolve_target(
        target, host, accounts, state_dir
    )
    run = start_load(
        profile,
        host=gateway,
        accounts_file=accounts_file,
        results_dir=results,
        duration_s=duration_s,
        users=users,
        seed=seed,
        processes=processes,
        rate=rate_value,
        rate_stages=rate_stages,
        max_in_flight=max_in_flight,
        send_tick=send_tick,
        state_dir=registration_dir,
    )
    console = Console(stderr=True)
    console.print(
        f"load: profile [bold]{profile}[/] against {gateway} for {duration_s:g}s "
        f"(pid {run.pid}, log {run.log_path})"
    )

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt  # SIGTERM stops the load like Ctrl-C: never leave it running

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        code = run.wait(timeout_s=duration_s + 60)
    except KeyboardInterrupt:
        run.stop()
        console.print("load: interrupted; statistics and journals written")
        raise SystemExit(130) from None
    finally:
        signal.signal(signal.SIGTERM, previous)
    summary = summarize(results)
    table = Table(title=f"load {profile}: {results}")
    for column in (
        "requests",
        "failures",
        "req/s",
        "p50 ms",
        "p95 ms",
        "p99 ms",
        "orders submitted",
        "orders acknowledged",
    ):
        table.add_column(column, justify="right")
    table.add_row(
        str(summary.requests),
        str(summary.failures),
        f"{summary.requests_per_s:.1f}",
        *(
            f"{v:g}" if v is not None else "-"
            for v in (summary.p50_ms, summary.p95_ms, summary.p99_ms)
        ),
        str(summary.submitted),
        str(summary.acknowledged),
    )
    Console().print(table)
    if summary.model == "open":
        p99 = "-" if summary.p99_intended_ms is None else f"{summary.p99_intended_ms:.1f} ms"
        p99_sent = "-" if summary.p99_sent_ms is None else f"{summary.p99_sent_ms:.1f} ms"
        Console().print(
            f"open model: {summary.scheduled_sends} sends scheduled, {summary.dropped_sends} "
            f"dropped; p99 latency from the intended send time {p99} (from the actual send "
            f"{p99_sent}); HDR log {results / 'latency.hlog'}"
        )
    if summary.dropped_sends:
        console.print(
            f"load: [bold red]{summary.dropped_sends} of {summary.scheduled_sends} scheduled "
            "sends DROPPED[/]: the in-flight bound was reached (the platform did not keep up "
            "with the rate; raise --max-in-flight to measure the queueing instead)"
        )
    if code != 0:
        raise TradestormError(f"the load generator exited with code {code}; see {run.log_path}")
