"""The analytics service: CPU-heavy risk metrics."""

from __future__ import annotations

from collections.abc import Mapping

import httpx
from fastapi import FastAPI

from tradeplat.config import Settings
from tradeplat.services.analytics.routes import router
from tradeplat.symbols import watch_symbol_changes
from tradeplat.web.app import create_app


def create(
    settings: Settings, *, transports: Mapping[str, httpx.AsyncBaseTransport] | None = None
) -> FastAPI:
    return create_app(
        "analytics", settings, routers=[router],
        background=[("symbols-watch", watch_symbol_changes)], transports=transports,
    )
