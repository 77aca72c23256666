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

from loadtests.errors import ConfigError
from loadtests.profiles import PROFILES, Profile, make_profile
from slo import durations

DEFAULT_STATE_DIR = Path(".tradestorm/local")

# option dest -> (flag, environment variable, default, help)
OPTIONS: dict[str, tuple[str, str, str | None, str]] = {
    "load_profile": (
        "--load-profile",
        "TRADESTORM_PROFILE",
        "steady",
        f"load profile: {', '.join(sorted(PROFILES))}",
    ),
    "target_users": ("--target-users", "TRADESTORM_USERS", "10", "peak users of the profile"),
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
        "target user iterations per second at the peak (0: think times instead)",
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
    """Seconds in ``20``, ``20s``, ``5m``, ``1h30m`` (:mod:`slo.durations`); ``ConfigError``
    names the field."""
    try:
        seconds = durations.parse_duration(value)
    except ValueError as exc:
        raise ConfigError(source, field, str(exc)) from None
    if seconds <= 0:
        raise ConfigError(source, field, f"must be > 0 seconds, got {value!r}")
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

    def make_profile(self) -> Profile:
        return make_profile(self.profile, self.users, self.duration_s)

    @property
    def pacing_per_user(self) -> float:
        """Iterations per second each user aims at (0: use think times)."""
        return self.rate / self.users if self.rate else 0.0

    @classmethod
    def from_options(cls, options: Any) -> LoadSettings:
        """Validate Locust's parsed options; ``ConfigError`` names the option at fault."""
        src = "options"

        def get(dest: str) -> Any:
            value = getattr(options, dest, None)
            return OPTIONS[dest][2] if value is None else value

        profile = str(get("load_profile"))
        if profile not in PROFILES:
            raise ConfigError(
                src,
                "load-profile",
                f"unknown profile {profile!r} (known: {', '.join(sorted(PROFILES))})",
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
        run_id = str(get("run_id") or default_run_id())
        if not run_id.replace("-", "").replace("_", "").isalnum() or len(run_id) > 24:
            raise ConfigError(src, "run-id", "letters, digits, '-' and '_' only, at most 24")
        return cls(
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
        )
