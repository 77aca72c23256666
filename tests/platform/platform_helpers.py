"""Helpers of the platform tests (imported by test modules; fixtures live in conftest)."""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid
from collections.abc import Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import asyncpg
import httpx
from fastapi import FastAPI
from platform_cluster import Cluster
from tradeplat.config import load_settings
from tradeplat.services import create_service_app

ADMIN_KEY = "test-admin-key"
_symbol_counter = itertools.count(1)


def platform_env(dsn: str, **extra: str) -> dict[str, str]:
    env = {"TRADEPLAT_DATABASE_URL": dsn, "TRADEPLAT_ADMIN_KEY": ADMIN_KEY,
           "TRADEPLAT_REPLICA": "test"}
    env.update({f"TRADEPLAT_{k.upper()}": v for k, v in extra.items()})
    return env


@dataclass
class Platform:
    """The six services of one test module, wired in-process."""

    dsn: str
    apps: dict[str, FastAPI]
    gateway: httpx.AsyncClient
    accounts: list[tuple[str, dict[str, str]]] = field(default_factory=list)

    async def create_account(
        self, *, cash: str = "1000000", positions: dict[str, int] | None = None, **limits: Any
    ) -> tuple[str, dict[str, str]]:
        body: dict[str, Any] = {"name": f"acct-{uuid.uuid4().hex[:8]}", "cash": cash,
                                "positions": positions or {}}
        body.update(limits)
        r = await self.gateway.post("/v1/admin/accounts", json=body,
                                    headers={"X-Admin-Key": ADMIN_KEY})
        assert r.status_code == 201, r.text
        created = r.json()
        return created["account_id"], {"X-API-Key": created["api_key"]}

    async def order(
        self, headers: dict[str, str], symbol: str, side: str, quantity: int,
        price: str | None = None, *, client_order_id: str | None = None,
        expect: int | None = 201,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "client_order_id": client_order_id or uuid.uuid4().hex,
            "symbol": symbol, "side": side, "type": "LIMIT" if price else "MARKET",
            "quantity": quantity,
        }
        if price is not None:
            body["price"] = price
        r = await self.gateway.post("/v1/orders", json=body, headers=headers)
        if expect is not None:
            assert r.status_code == expect, r.text
        return r.json()  # type: ignore[no-any-return]

    async def get_order(self, headers: dict[str, str], order_id: str) -> dict[str, Any]:
        r = await self.gateway.get(f"/v1/orders/{order_id}", headers=headers)
        assert r.status_code == 200, r.text
        return r.json()  # type: ignore[no-any-return]


async def new_symbol(dsn: str, reference: str = "100.00") -> str:
    """A fresh symbol, so a test starts with an empty book."""
    symbol = f"T{next(_symbol_counter)}{uuid.uuid4().hex[:6].upper()}"
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(
            "INSERT INTO symbols (symbol, reference_price) VALUES ($1, $2)", symbol,
            Decimal(reference),
        )
    finally:
        await conn.close()
    return symbol


async def start_inproc(
    dsn: str, stack: AsyncExitStack, *, only: tuple[str, ...] | None = None, **env: str
) -> Platform:
    settings = load_settings(platform_env(dsn, **env))
    apps: dict[str, FastAPI] = {}
    transports: dict[str, httpx.AsyncBaseTransport] = {}
    for service in ("risk", "portfolio", "marketdata", "analytics", "orders", "gateway"):
        if only is not None and service not in only:
            continue
        app = create_service_app(service, settings, transports=transports)
        apps[service] = app
        transports[service] = httpx.ASGITransport(app=app)
    for app in apps.values():
        await stack.enter_async_context(app.router.lifespan_context(app))
    for app in apps.values():
        await asyncio.wait_for(app.state.runtime.migrated.wait(), timeout=30)
    gateway = await stack.enter_async_context(
        httpx.AsyncClient(transport=transports["gateway"], base_url="http://gateway", timeout=30)
    ) if "gateway" in apps else None
    return Platform(dsn=dsn, apps=apps, gateway=gateway)  # type: ignore[arg-type]


@dataclass
class LiveAccount:
    account_id: str
    api_key: str

    @property
    def headers(self) -> dict[str, str]:
        return {"X-API-Key": self.api_key}


@dataclass
class LivePlatform:
    cluster: Cluster
    dsn: str

    @property
    def gateway_url(self) -> str:
        return self.cluster.url("gateway")

    def create_account(self, *, cash: str = "1000000", positions: dict[str, int] | None = None,
                       **limits: Any) -> LiveAccount:
        body: dict[str, Any] = {"name": f"live-{uuid.uuid4().hex[:8]}", "cash": cash,
                                "positions": positions or {}}
        body.update(limits)
        r = httpx.post(self.gateway_url + "/v1/admin/accounts", json=body,
                       headers={"X-Admin-Key": ADMIN_KEY}, timeout=10)
        assert r.status_code == 201, r.text
        return LiveAccount(r.json()["account_id"], r.json()["api_key"])


def db_query(dsn: str, query: str, *args: Any) -> list[asyncpg.Record]:
    """Run one query from synchronous test code."""

    async def run() -> list[asyncpg.Record]:
        conn = await asyncpg.connect(dsn)
        try:
            return await conn.fetch(query, *args)
        finally:
            await conn.close()

    return asyncio.run(run())


def wait_until(predicate: Callable[[], bool], timeout_s: float, what: str,
               interval_s: float = 0.1) -> float:
    """Poll ``predicate``; return the seconds it took, fail naming ``what``."""
    start = time.monotonic()
    while not predicate():
        if time.monotonic() - start > timeout_s:
            raise AssertionError(f"{what}: not true after {timeout_s}s")
        time.sleep(interval_s)
    return time.monotonic() - start
