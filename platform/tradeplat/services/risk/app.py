"""The risk service: pre-trade checks."""

from __future__ import annotations

from collections.abc import Mapping

import httpx
from fastapi import FastAPI

from tradeplat.config import Settings
from tradeplat.services.risk.routes import router
from tradeplat.web.app import create_app


def create(
    settings: Settings, *, transports: Mapping[str, httpx.AsyncBaseTransport] | None = None
) -> FastAPI:
    return create_app("risk", settings, routers=[router], transports=transports)
