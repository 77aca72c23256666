"""The load generator's settings, read once per process.

Every setting is a Locust command-line option with an environment variable
(Locust's parser reads both), so the plain ``locust -f loadtests/locustfile.py``
path and ``tradestorm load`` (which sets the variables) are configured the same
way. :func:`add_arguments` registers the options; :meth:`LoadSettings.from_options`
validates them once, at ``init``.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from inputs import durations
from loadtests.arrival import RateSchedule, Stage, make_schedule, parse_stages
from loadtests.errors import ConfigError
from loadtests.latency_log import LOG_NAME
from loadtests.profiles import PROFILE_NAMES, Profile, is_arrival_rate, make_profile

DEFAULT_STATE_DIR = Path(".tradestorm/local")

# option dest -> (flag, environment variable, default, help)
OPTIONS: dict[str, tuple[str, str, str | None, str]] = {
    "load_profile": (
        "--load-profile",
        "TRADESTORM_PROFILE",
        "steady",
        f"load profile: {', '.join(PROFILE_NAMES)}",
    ),
    "target_users": (
        "--target-users",
        "TRADESTORM_USERS",
        "10",
        "peak users of a closed-model profile; an arrival-rate profile's bound on orders in "
        "flight (unless --max-in-flight)",
    ),
    "profile_duration": (
        "--profile-duration",
        "TRADESTORM_DURATION",
        "60s",
        "length of the profile (20s, 5m, 1h30m)",
    ),
    "seed": ("--seed", "TRADESTORM_SEED", "1", "seed of every user's random choices"),
    "rate": (
        "--rate",
        "TRADESTORM_RATE",
        "0",
        "closed-model profiles: user iterations per second at the peak (0: think times "
        "instead); arrival-rate profiles: orders per second at the peak",
    ),
    "rate_stages": (
        "--rate-stages",
        "TRADESTORM_RATE_STAGES",
        "",
        "ramping-arrival-rate: FROM-TO:RATE[-RATE],... (e.g. 0s-30s:0-200,30s-2m:200), "
        "orders per second; stages must not overlap",
    ),
    "max_in_flight": (
        "--max-in-flight",
        "TRADESTORM_MAX_IN_FLIGHT",
        None,
        "arrival-rate profiles: orders in flight at most over all load processes (default: "
        "--target-users); a send due while it is reached is dropped and counted",
    ),
    "send_tick": (
        "--send-tick",
        "TRADESTORM_SEND_TICK",
        "1ms",
        "arrival-rate profiles: a sender wakes at most once per tick and sends every order due "
        "by then (0: wake for each order); orders go out at most a tick late, which their "
        "intended-time latency includes",
    ),
    "latency_log": (
        "--latency-log",
        "TRADESTORM_LATENCY_LOG",
        LOG_NAME,
        "HdrHistogram interval log of the client latency, written by the master (or the "
        "only process); sends.json next to it",
    ),
    "accounts_file": (
        "--accounts-file",
        "TRADESTORM_ACCOUNTS_FILE",
        None,
        "accounts JSON (default: STATE/accounts.json)",
    ),
    "journal_dir": (
        "--journal-dir",
        "TRADESTORM_JOURNAL_DIR",
        "journal",
        "folder of the order journals (one file per load process)",
    ),
    "journal_fsync": (
        "--journal-fsync",
        "TRADESTORM_JOURNAL_FSYNC",
        "false",
        "also fsync the order journal every 0.5 s (true/false): survives a crash of the "
        "machine, not only of the load generator, for some CPU per order",
    ),
    "journal_to_master": (
        "--journal-to-master",
        "TRADESTORM_JOURNAL_TO_MASTER",
        "false",
        "in a --worker: send the order journal to the master every 0.2 s instead of writing "
        "a local file (true/false); the master writes it to its --journal-dir, so it "
        "survives a worker that is restarted or deleted",
    ),
    "state_dir": (
        "--state-dir",
        "TRADESTORM_STATE_DIR",
        None,
        "local target state folder (metrics registration, accounts)",
    ),
    "metrics_host": (
        "--metrics-host",
        "TRADESTORM_METRICS_HOST",
        "127.0.0.1",
        "address of the client-metrics endpoint",
    ),
    "metrics_port": (
        "--metrics-port",
        "TRADESTORM_METRICS_PORT",
        "0",
        "port of the client-metrics endpoint (0: a free port)",
    ),
    "order_attempts": (
        "--order-attempts",
        "TRADESTORM_ORDER_ATTEMPTS",
        "3",
        "attempts per order after a timeout or 5xx (same client order id)",
    ),
    "request_timeout": (
        "--request-timeout",
        "TRADESTORM_REQUEST_TIMEOUT",
        "5",
        "seconds before a request counts as timed out",
    ),
    "run_id": (
        "--run-id",
        "TRADESTORM_RUN_ID",
        None,
        "identifier of the run inside client order ids (default: start time)",
    ),
}


def add_arguments(parser: Any) -> None:
    """Register the options on Locust's argument parser (``init_command_line_parser``)."""
    for dest, (flag, env, default, help_text) in OPTIONS.items():
        parser.add_argument(
            flag,
            dest=dest,
            env_var=env,
            default=default,
            help=help_text,
            include_in_web_ui=dest
            in {"load_profile", "target_users", "profile_duration", "seed", "rate"},
        )


def _int(source: str, field: str, value: Any, minimum: int) -> int:
    try:
        number = int(str(value).strip())
    except ValueError:
        raise ConfigError(source, field, f"not an integer: {value!r}") from None
    if number < minimum:
        raise ConfigError(source, field, f"must be >= {minimum}, got {number}")
    return number


def _float(source: str, field: str, value: Any, minimum: float) -> float:
    try:
        number = float(str(value).strip())
    except ValueError:
        raise ConfigError(source, field, f"not a number: {value!r}") from None
    if not math.isfinite(number) or number < minimum:
        raise ConfigError(source, field, f"must be >= {minimum:g}, got {value!r}")
    return number


def _bool(source: str, field: str, value: Any) -> bool:
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off", ""):
        return False
    raise ConfigError(source, field, f"expected true or false, got {value!r}")


def parse_duration(value: str | float, source: str = "options", field: str = "duration") -> float:
    """Seconds in ``20``, ``20s``, ``5m``, ``1h30m`` (:mod:`inputs.durations`); ``ConfigError``
    names the field."""
    try:
        seconds = durations.parse_duration(value)
    except ValueError as exc:
        raise ConfigError(source, field, str(exc)) from None
    if seconds <= 0:
        raise ConfigError(source, field, f"must be > 0 seconds, got {value!r}")
    return seconds


MAX_SEND_TICK_S = 0.05


def parse_tick(value: str | float, source: str = "options", field: str = "send-tick") -> float:
    """A send tick: ``0`` (off), or a duration up to 50 ms (``1ms``, ``0.002``)."""
    try:
        seconds = durations.parse_duration(str(value).strip())
    except ValueError as exc:
        raise ConfigError(source, field, str(exc)) from None
    if not 0 <= seconds <= MAX_SEND_TICK_S:
        raise ConfigError(source, field, f"must be 0 (off) or at most {MAX_SEND_TICK_S * 1000:g}"
                          f" ms, got {value!r}")
    return seconds


def default_run_id() -> str:
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())


@dataclass(frozen=True)
class LoadSettings:
    profile: str
    users: int
    duration_s: float
    seed: int
    rate: float
    accounts_file: Path
    journal_dir: Path
    journal_fsync: bool
    journal_to_master: bool
    state_dir: Path | None
    metrics_host: str
    metrics_port: int
    order_attempts: int
    request_timeout_s: float
    run_id: str
    rate_stages: tuple[Stage, ...] = ()
    max_in_flight: int = 1
    send_tick_s: float = 0.001
    latency_log: Path = Path(LOG_NAME)
    processes: int = 1  # load processes sharing the rate (0: unknown, in a --worker)

    @property
    def open_model(self) -> bool:
        """Whether the profile is an arrival-rate one (orders sent on a schedule)."""
        return is_arrival_rate(self.profile)

    def make_profile(self) -> Profile:
        return make_profile(self.profile, self.users, self.duration_s)

    def make_schedule(self) -> RateSchedule:
        """The send times of an arrival-rate profile (``ConfigError`` names the option)."""
        return make_schedule(self.profile, rate=self.rate, duration_s=self.duration_s,
                             stages=self.rate_stages, processes=self.processes)

    @property
    def pacing_per_user(self) -> float:
        """Iterations per second each user aims at (0: use think times)."""
        if self.open_model:
            return 0.0
        return self.rate / self.users if self.rate else 0.0

    @classmethod
    def from_options(cls, options: Any) -> LoadSettings:
        """Validate Locust's parsed options; ``ConfigError`` names the option at fault."""
        src = "options"

        def get(dest: str) -> Any:
            value = getattr(options, dest, None)
            return OPTIONS[dest][2] if value is None else value

        profile = str(get("load_profile"))
        if profile not in PROFILE_NAMES:
            raise ConfigError(
                src,
                "load-profile",
                f"unknown profile {profile!r} (known: {', '.join(PROFILE_NAMES)})",
            )
        users = _int(src, "target-users", get("target_users"), 1)
        duration_s = parse_duration(get("profile_duration"), src, "profile-duration")
        seed = _int(src, "seed", get("seed"), 0)
        rate = _float(src, "rate", get("rate"), 0.0)
        state_raw = get("state_dir")
        state_dir = Path(state_raw) if state_raw else None
        if state_dir is None and (DEFAULT_STATE_DIR / "state.json").exists():
            state_dir = DEFAULT_STATE_DIR
        accounts_raw = get("accounts_file")
        if accounts_raw:
            accounts_file = Path(accounts_raw)
        elif state_dir is not None:
            accounts_file = state_dir / "accounts.json"
        else:
            raise ConfigError(
                src,
                "accounts-file",
                "not given (--accounts-file, TRADESTORM_ACCOUNTS_FILE) and no "
                "local target state folder (--state-dir) to take it from",
            )
        stages_raw = str(get("rate_stages") or "").strip()
        stages = tuple(parse_stages(stages_raw, src, "rate-stages")) if stages_raw else ()
        in_flight_raw = get("max_in_flight")
        max_in_flight = users if in_flight_raw in (None, "") else _int(
            src, "max-in-flight", in_flight_raw, 1)
        run_id = str(get("run_id") or default_run_id())
        if not run_id.replace("-", "").replace("_", "").isalnum() or len(run_id) > 24:
            raise ConfigError(src, "run-id", "letters, digits, '-' and '_' only, at most 24")
        settings = cls(
            profile=profile,
            users=users,
            duration_s=duration_s,
            seed=seed,
            rate=rate,
            accounts_file=accounts_file,
            journal_dir=Path(get("journal_dir")),
            journal_fsync=_bool(src, "journal-fsync", get("journal_fsync")),
            journal_to_master=_bool(src, "journal-to-master", get("journal_to_master")),
            state_dir=state_dir,
            metrics_host=str(get("metrics_host")),
            metrics_port=_int(src, "metrics-port", get("metrics_port"), 0),
            order_attempts=_int(src, "order-attempts", get("order_attempts"), 1),
            request_timeout_s=_float(src, "request-timeout", get("request_timeout"), 0.05),
            run_id=run_id,
            rate_stages=stages,
            max_in_flight=max_in_flight,
            send_tick_s=parse_tick(get("send_tick"), src, "send-tick"),
            latency_log=Path(get("latency_log")),
            processes=declared_processes(options),
        )
        if settings.open_model:
            settings.make_schedule()  # refuses a bad rate, stages or a rate above the ceiling
        elif stages:
            raise ConfigError(src, "rate-stages", f"only arrival-rate profiles take stages, "
                              f"not {profile}")
        return settings


def declared_processes(options: Any) -> int:
    """The load processes that will share an arrival rate, as Locust's options declare them
    (0 in a --worker: it cannot know)."""
    if getattr(options, "worker", False):
        return 0
    if getattr(options, "master", False):
        expect = getattr(options, "expect_workers", 1)
        return max(1, int(expect or 1))
    processes = getattr(options, "processes", None)
    if isinstance(processes, int) and not isinstance(processes, bool):
        if processes == -1:
            import os

            return os.cpu_count() or 1
        return max(1, processes)
    return 1
