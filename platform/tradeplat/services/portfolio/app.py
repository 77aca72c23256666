"""The portfolio service: ledger, balances and the outbox relay."""

from __future__ import annotations

from collections.abc import Mapping

import httpx
from fastapi import FastAPI

from tradeplat.config import Settings
from tradeplat.services.portfolio.relay import run_relay
from tradeplat.services.portfolio.routes import router
from tradeplat.web.app import create_app


def create(
    settings: Settings, *, transports: Mapping[str, httpx.AsyncBaseTransport] | None = None
) -> FastAPI:
    return create_app(
        "portfolio", settings, routers=[router], background=[("relay", run_relay)],
        transports=transports,
    )
