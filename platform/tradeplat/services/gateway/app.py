"""The gateway: the public REST API (OpenAPI at ``/openapi.json``)."""

from __future__ import annotations

from collections.abc import Mapping

import httpx
from fastapi import FastAPI

from tradeplat.config import Settings
from tradeplat.services.gateway.auth import watch_api_key_changes
from tradeplat.services.gateway.routes import admin, analytics, marketdata, orders, portfolio
from tradeplat.web.app import create_app


def create(
    settings: Settings, *, transports: Mapping[str, httpx.AsyncBaseTransport] | None = None
) -> FastAPI:
    return create_app(
        "gateway",
        settings,
        routers=[orders.router, marketdata.router, portfolio.router, analytics.router,
                 admin.router],
        dependencies=("orders", "risk", "portfolio", "marketdata", "analytics"),
        background=[("api-key-watch", watch_api_key_changes)],
        transports=transports,
        title="tradeplat",
        public=True,
    )
