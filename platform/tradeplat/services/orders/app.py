"""The orders service: order lifecycle and matching."""

from __future__ import annotations

from collections.abc import Mapping

import httpx
from fastapi import FastAPI

from tradeplat.config import Settings
from tradeplat.services.orders.outbox_monitor import monitor_outbox
from tradeplat.services.orders.routes import router
from tradeplat.symbols import watch_symbol_changes
from tradeplat.web.app import create_app


def create(
    settings: Settings, *, transports: Mapping[str, httpx.AsyncBaseTransport] | None = None
) -> FastAPI:
    return create_app(
        "orders", settings, routers=[router], dependencies=("risk",),
        background=[("outbox-monitor", monitor_outbox), ("symbols-watch", watch_symbol_changes)],
        transports=transports,
    )
