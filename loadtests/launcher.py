"""Start a load run as a Locust subprocess (the entry point the scenario runner calls).

``start_load`` validates the inputs first (profile, accounts file), then runs
``python -m locust -f loadtests/locustfile.py --headless`` in its own session,
writing Locust's CSV statistics to ``RESULTS/locust_*.csv``, the order journals
to ``RESULTS/journal/`` and Locust's log to ``RESULTS/logs/locust.log``.
With ``processes > 1`` Locust forks that many workers; the master and its
workers talk over a free 127.0.0.1 port chosen at start.

Locust's exit code is returned unchanged except that failed requests do not
make it non-zero (``--exit-code-on-error 0``): failures under chaos are data
for the gate, not a broken load generator.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

from inputs import durations
from loadtests.accounts import load_accounts
from loadtests.arrival import make_schedule, parse_stages
from loadtests.errors import ConfigError, LoadRunError
from loadtests.latency_log import LOG_NAME
from loadtests.profiles import is_arrival_rate, make_profile
from loadtests.settings import default_run_id, parse_tick

LOCUSTFILE = Path(__file__).resolve().parent / "locustfile.py"
DEFAULT_USERS = 10
log = logging.getLogger(__name__)


def _stop_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    """Locust gets SIGINT (a graceful stop: CSVs, journals closed, metrics registration
    removed) when the process that started it dies, even by SIGKILL: a killed CLI leaves
    no load running (Linux ``PR_SET_PDEATHSIG``; elsewhere ``tradestorm down`` stops it)."""
    import ctypes

    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGINT)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LoadRun:
    """A running load generator; stop it with :meth:`stop` or use it as a context manager."""

    def __init__(
        self,
        process: subprocess.Popen[bytes],
        *,
        results_dir: Path,
        log_path: Path,
        duration_s: float,
        run_id: str,
        log_file: object,
    ) -> None:
        self.process = process
        self.results_dir = results_dir
        self.journal_dir = results_dir / "journal"
        self.log_path = log_path
        self.duration_s = duration_s
        self.run_id = run_id
        self.started_at = time.time()
        self._log_file = log_file

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def running(self) -> bool:
        return self.process.poll() is None

    def wait(self, timeout_s: float | None = None) -> int:
        """Wait for the profile to end (stopped past ``timeout_s``); returns the exit code."""
        try:
            code = self.process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            log.warning("load run %s still running after %.0fs: stopping it", self.pid, timeout_s)
            return self.stop()
        self._close_log()
        return code

    def stop(self, grace_s: float = 20.0) -> int:
        """Stop gracefully (SIGINT: CSVs written, journals flushed), then kill what is left.

        SIGINT, not SIGTERM: Locust installs its SIGTERM handler only after a
        shape has finished, while it handles Ctrl-C at any time.
        """
        if self.running:
            try:
                self.process.send_signal(signal.SIGINT)
                code = self.process.wait(timeout=grace_s)
            except subprocess.TimeoutExpired:
                log.warning("load run %s ignored SIGINT for %.0fs: killing it", self.pid, grace_s)
                self._kill_group()
                code = self.process.wait()
        else:
            code = self.process.wait()
        self._kill_group()  # forked workers that outlived their master
        self._close_log()
        return code

    def _kill_group(self) -> None:
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass

    def _close_log(self) -> None:
        close = getattr(self._log_file, "close", None)
        if close is not None:
            close()

    def __enter__(self) -> LoadRun:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def locust_command(
    profile: str,
    *,
    host: str,
    accounts_file: Path,
    results_dir: Path,
    duration_s: float,
    users: int,
    seed: int,
    processes: int,
    rate: float,
    state_dir: Path | None,
    run_id: str,
    rate_stages: str = "",
    max_in_flight: int | None = None,
    send_tick: str | float | None = None,
) -> list[str]:
    """The Locust command line of a load run."""
    cmd = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(LOCUSTFILE),
        "--headless",
        "--host",
        host,
        "--csv",
        str(results_dir / "locust"),
        "--exit-code-on-error",
        "0",
        "--only-summary",
        "--loglevel",
        "INFO",
        "--load-profile",
        profile,
        "--target-users",
        str(users),
        "--profile-duration",
        durations.format_duration(duration_s, exact=True),  # ":g" kept 6 digits only
        "--seed",
        str(seed),
        "--rate",
        repr(float(rate)),
        "--accounts-file",
        str(accounts_file),
        "--journal-dir",
        str(results_dir / "journal"),
        "--run-id",
        run_id,
        "--latency-log",
        str(results_dir / LOG_NAME),
    ]
    if rate_stages:
        cmd += ["--rate-stages", rate_stages]
    if max_in_flight is not None:
        cmd += ["--max-in-flight", str(max_in_flight)]
    if send_tick is not None:
        cmd += ["--send-tick", str(send_tick)]
    if state_dir is not None:
        cmd += ["--state-dir", str(state_dir)]
    if processes > 1:
        port = _free_port()
        cmd += [
            "--processes",
            str(processes),
            "--master-bind-host",
            "127.0.0.1",
            "--master-bind-port",
            str(port),
            "--master-host",
            "127.0.0.1",
            "--master-port",
            str(port),
        ]
    return cmd


def check_profile_options(
    profile: str,
    *,
    users: int,
    duration_s: float,
    processes: int = 1,
    rate: float = 0.0,
    rate_stages: str = "",
    max_in_flight: int | None = None,
    send_tick: str | float | None = None,
) -> None:
    """Refuse a bad profile, users, duration, processes, rate, stages, in-flight bound or
    send tick (``ConfigError`` naming the option): an arrival rate that is not a number > 0
    or above what ``processes`` can schedule, overlapping stages, an in-flight bound below
    1, a tick that is not 0 or a duration up to 50 ms, or stages, an in-flight bound or a
    tick given to a closed-model profile."""
    if isinstance(processes, bool) or not isinstance(processes, int) or processes < 1:
        raise ConfigError("options", "processes", f"must be an integer >= 1, got {processes!r}")
    if is_arrival_rate(profile):
        make_profile("steady", users, duration_s)  # validates users and duration
        stages = parse_stages(rate_stages) if str(rate_stages or "").strip() else None
        make_schedule(profile, rate=rate, duration_s=duration_s, stages=stages,
                      processes=processes)
    else:
        make_profile(profile, users, duration_s)  # validates name, users, duration
        if str(rate_stages or "").strip():
            raise ConfigError("options", "rate-stages",
                              f"only arrival-rate profiles take stages, not {profile}")
        # A closed model's users wait for each answer: a bound or a tick would be ignored.
        if max_in_flight is not None:
            raise ConfigError("options", "max-in-flight",
                              f"only arrival-rate profiles take an in-flight bound, not {profile}")
        if send_tick is not None:
            raise ConfigError("options", "send-tick",
                              f"only arrival-rate profiles take a send tick, not {profile}")
    if max_in_flight is not None and (
        isinstance(max_in_flight, bool) or not isinstance(max_in_flight, int) or max_in_flight < 1
    ):
        raise ConfigError("options", "max-in-flight",
                          f"the in-flight bound must be an integer >= 1, got {max_in_flight!r}")
    if send_tick is not None:
        parse_tick(send_tick)


def start_load(
    profile: str,
    *,
    host: str,
    accounts_file: Path,
    results_dir: Path,
    duration_s: float,
    users: int | None = None,
    seed: int = 1,
    processes: int = 1,
    rate: float = 0.0,
    state_dir: Path | None = None,
    run_id: str | None = None,
    rate_stages: str = "",
    max_in_flight: int | None = None,
    send_tick: str | float | None = None,
) -> LoadRun:
    """Start the load; returns at once with a :class:`LoadRun` (see docs/contracts.md §5).

    ``rate`` is orders per second at the peak for an arrival-rate profile (user
    iterations per second for a closed model); ``rate_stages`` (``FROM-TO:RATE[-RATE],...``)
    shapes ``ramping-arrival-rate`` instead; ``max_in_flight`` bounds the orders in
    flight of an arrival-rate profile over all processes (default: ``users``);
    ``send_tick`` is its sender's ``--send-tick`` (``"1ms"``, or seconds; default: the
    generator's, 1 ms).
    Raises ``ConfigError`` for a bad profile, users, duration, processes, rate,
    stages, in-flight bound or accounts file, before anything is started.
    """
    users = DEFAULT_USERS if users is None else users
    check_profile_options(profile, users=users, duration_s=duration_s, processes=processes,
                          rate=rate, rate_stages=rate_stages, max_in_flight=max_in_flight,
                          send_tick=send_tick)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ConfigError("options", "seed", f"must be an integer >= 0, got {seed!r}")
    if not host.startswith(("http://", "https://")):
        raise ConfigError("options", "host", f"must be an http(s) URL, got {host!r}")
    accounts_file = Path(accounts_file).absolute()
    load_accounts(accounts_file)
    results_dir = Path(results_dir).absolute()
    if any((results_dir / "journal").glob("orders-*.jsonl")):
        raise ConfigError(
            results_dir,
            "journal",
            "already holds order journals of another run: give a fresh results "
            "folder (reconcile would mix the runs)",
        )
    (results_dir / "logs").mkdir(parents=True, exist_ok=True)
    (results_dir / "journal").mkdir(parents=True, exist_ok=True)
    run_id = run_id or default_run_id()
    cmd = locust_command(
        profile,
        host=host,
        accounts_file=accounts_file,
        results_dir=results_dir,
        duration_s=duration_s,
        users=users,
        seed=seed,
        processes=processes,
        rate=rate,
        state_dir=Path(state_dir).absolute() if state_dir else None,
        run_id=run_id,
        rate_stages=str(rate_stages or "").strip(),
        max_in_flight=max_in_flight,
        send_tick=send_tick,
    )
    log_path = results_dir / "logs" / "locust.log"
    log_file = open(log_path, "ab")  # noqa: SIM115 - closed by LoadRun
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRADESTORM_", "LOCUST_"))}
    try:
        process = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            cwd=results_dir,
            env=env,
            start_new_session=True,
            preexec_fn=_stop_with_parent,
        )
    except OSError as exc:
        log_file.close()
        raise LoadRunError(f"cannot start Locust: {exc}") from exc
    return LoadRun(
        process,
        results_dir=results_dir,
        log_path=log_path,
        duration_s=duration_s,
        run_id=run_id,
        log_file=log_file,
    )
