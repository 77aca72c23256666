"""Settings of a tradeplat process, read once from the environment.

In the style of starlette's ``config.py``: one object built at start, typed
fields, and an error naming the variable when one is missing or malformed.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from tradeplat.errors import ConfigError

PREFIX = "TRADEPLAT_"

#: Default base URLs of the internal services (contracts.md §1).
DEFAULT_SERVICE_PORTS = {
    "gateway": 8080,
    "orders": 8081,
    "risk": 8082,
    "portfolio": 8083,
    "marketdata": 8084,
    "analytics": 8085,
}


@dataclass(frozen=True)
class RiskDefaults:
    """Limits given to an account that has no ``risk_limits`` row of its own."""

    max_order_notional: Decimal = Decimal("1000000")
    max_position: int = 1_000_000
    max_orders_per_second: int = 200
    #: A MARKET order trades no further than this percentage from the last price
    #: (its protection price, which also values it for the notional and buying
    #: power checks).
    market_collar_pct: Decimal = Decimal("10")


#: ``TRADEPLAT_ORDERS_SELF_TRADE_PREVENTION``: what matching does when an order
#: would trade against a resting order of its own account (contracts.md §1.1).
SELF_TRADE_PREVENTION_MODES = ("cancel_newest", "cancel_oldest", "none")


@dataclass(frozen=True)
class Settings:
    database_url: str | None
    orders_url: str
    risk_url: str
    portfolio_url: str
    marketdata_url: str
    analytics_url: str
    admin_key: str | None
    replica: str
    call_timeout_s: float = 2.0
    db_timeout_s: float = 2.0
    db_pool_max: int = 10
    call_pool_max: int = 10
    seed: int = 42
    log_level: str = "INFO"
    max_body_bytes: int = 64 * 1024
    graceful_shutdown_s: float = 10.0
    max_concurrency: int = 512
    relay_batch_size: int = 200
    relay_idle_s: float = 0.05
    self_trade_prevention: str = "cancel_newest"
    risk_defaults: RiskDefaults = field(default_factory=RiskDefaults)

    def require_database_url(self) -> str:
        if not self.database_url:
            raise ConfigError(f"{PREFIX}DATABASE_URL", "is required (a PostgreSQL DSN)")
        return self.database_url


def _get(env: Mapping[str, str], name: str, default: str | None = None) -> str | None:
    value = env.get(PREFIX + name)
    if value is None or value == "":
        return default
    return value


def _number(env: Mapping[str, str], name: str, default: float, kind: type, minimum: float) -> float:
    raw = _get(env, name)
    if raw is None:
        return default
    try:
        value = kind(raw)
    except ValueError:
        raise ConfigError(PREFIX + name, f"must be a {kind.__name__}, got {raw!r}") from None
    if value != value or value in (float("inf"), float("-inf")):  # nan, inf
        raise ConfigError(PREFIX + name, f"must be a finite number, got {raw!r}")
    if value < minimum:
        raise ConfigError(PREFIX + name, f"must be >= {minimum}, got {raw!r}")
    return value


def _decimal(env: Mapping[str, str], name: str, default: Decimal) -> Decimal:
    raw = _get(env, name)
    if raw is None:
        return default
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise ConfigError(PREFIX + name, f"must be a decimal number, got {raw!r}") from None
    if not value.is_finite() or value <= 0:
        raise ConfigError(PREFIX + name, f"must be > 0, got {raw!r}")
    return value


def _collar(env: Mapping[str, str]) -> Decimal:
    pct = _decimal(env, "RISK_MARKET_COLLAR_PCT", RiskDefaults.market_collar_pct)
    if pct >= 100:
        raise ConfigError(PREFIX + "RISK_MARKET_COLLAR_PCT", f"must be < 100, got {pct}")
    return pct


def _choice(env: Mapping[str, str], name: str, choices: tuple[str, ...]) -> str:
    raw = _get(env, name, choices[0]) or choices[0]
    value = raw.strip().lower()
    if value not in choices:
        raise ConfigError(PREFIX + name, f"must be one of {', '.join(choices)}, got {raw!r}")
    return value


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Build the settings from ``env`` (default: ``os.environ``)."""
    env = os.environ if env is None else env

    def url(service: str) -> str:
        default = f"http://127.0.0.1:{DEFAULT_SERVICE_PORTS[service]}"
        return (_get(env, f"{service.upper()}_URL", default) or default).rstrip("/")

    level = (_get(env, "LOG_LEVEL", "INFO") or "INFO").upper()
    if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
        raise ConfigError(PREFIX + "LOG_LEVEL", f"unknown level {level!r}")
    return Settings(
        database_url=_get(env, "DATABASE_URL"),
        orders_url=url("orders"),
        risk_url=url("risk"),
        portfolio_url=url("portfolio"),
        marketdata_url=url("marketdata"),
        analytics_url=url("analytics"),
        admin_key=_get(env, "ADMIN_KEY"),
        replica=_get(env, "REPLICA") or f"{socket.gethostname()}-{os.getpid()}",
        call_timeout_s=_number(env, "CALL_TIMEOUT_S", 2.0, float, 0.01),
        db_timeout_s=_number(env, "DB_TIMEOUT_S", 2.0, float, 0.01),
        db_pool_max=int(_number(env, "DB_POOL_MAX", 10, int, 1)),
        call_pool_max=int(_number(env, "CALL_POOL_MAX", 10, int, 1)),
        seed=int(_number(env, "SEED", 42, int, 0)),
        log_level=level,
        max_body_bytes=int(_number(env, "MAX_BODY_BYTES", 64 * 1024, int, 1024)),
        graceful_shutdown_s=_number(env, "GRACEFUL_SHUTDOWN_S", 10.0, float, 0),
        max_concurrency=int(_number(env, "MAX_CONCURRENCY", 512, int, 1)),
        self_trade_prevention=_choice(
            env, "ORDERS_SELF_TRADE_PREVENTION", SELF_TRADE_PREVENTION_MODES
        ),
        risk_defaults=RiskDefaults(
            max_order_notional=_decimal(
                env, "RISK_MAX_ORDER_NOTIONAL", RiskDefaults.max_order_notional
            ),
            max_position=int(_number(env, "RISK_MAX_POSITION", RiskDefaults.max_position, int, 1)),
            max_orders_per_second=int(
                _number(env, "RISK_MAX_ORDERS_PER_SECOND", RiskDefaults.max_orders_per_second,
                        int, 1)
            ),
            market_collar_pct=_collar(env),
        ),
    )
