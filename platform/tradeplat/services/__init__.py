"""The six services; each subpackage's ``app.create`` builds its FastAPI app."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # keep `tradeplat --help` and config errors fast: no web stack import
    import httpx
    from fastapi import FastAPI

    from tradeplat.config import Settings

SERVICES = ("gateway", "orders", "risk", "portfolio", "marketdata", "analytics")


def create_service_app(
    service: str,
    settings: Settings,
    *,
    transports: Mapping[str, httpx.AsyncBaseTransport] | None = None,
) -> FastAPI:
    """The app of ``service`` (one of ``SERVICES``)."""
    if service not in SERVICES:
        raise ValueError(f"unknown service {service!r}; one of {', '.join(SERVICES)}")
    module = importlib.import_module(f"tradeplat.services.{service}.app")
    return module.create(settings, transports=transports)  # type: ignore[no-any-return]
