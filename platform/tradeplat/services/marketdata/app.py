"""The marketdata service: simulated quotes and candles from trades."""

from __future__ import annotations

from collections.abc import Mapping

import httpx
from fastapi import FastAPI

from tradeplat.config import Settings
from tradeplat.services.marketdata.quote_writer import publish_quotes
from tradeplat.services.marketdata.routes import router
from tradeplat.symbols import watch_symbol_changes
from tradeplat.web.app import create_app


def create(
    settings: Settings, *, transports: Mapping[str, httpx.AsyncBaseTransport] | None = None
) -> FastAPI:
    return create_app(
        "marketdata", settings, routers=[router],
        background=[("quotes", publish_quotes), ("symbols-watch", watch_symbol_changes)],
        transports=transports,
    )
