"""What the local target runs: the platform's services and how they find each other."""

from __future__ import annotations

# docs/contracts.md §1; the gateway is the public entry point (the platform's own list)
from tradeplat.services import SERVICES as SERVICES

# service -> the environment variable that tells other services where it is
SERVICE_URL_ENV = {
    "gateway": "TRADEPLAT_GATEWAY_URL",
    "orders": "TRADEPLAT_ORDERS_URL",
    "risk": "TRADEPLAT_RISK_URL",
    "portfolio": "TRADEPLAT_PORTFOLIO_URL",
    "marketdata": "TRADEPLAT_MARKETDATA_URL",
    "analytics": "TRADEPLAT_ANALYTICS_URL",
}

HOST = "127.0.0.1"
DATABASE_NAME = "tradeplat"
DEFAULT_REPLICAS = 2
DEFAULT_ACCOUNTS = 20
