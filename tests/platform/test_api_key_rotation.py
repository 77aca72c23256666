"""A rotated or revoked API key stops working at once on the gateway replica that
served the change and within moments on the others (PostgreSQL NOTIFY), though
every replica caches keys."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest_asyncio
from platform_helpers import ADMIN_KEY, Platform, platform_env
from tradeplat.accounts import rotate_api_key
from tradeplat.config import load_settings
from tradeplat.services import create_service_app

ADMIN = {"X-Admin-Key": ADMIN_KEY}


@pytest_asyncio.fixture
async def second_gateway(platform: Platform) -> AsyncIterator[httpx.AsyncClient]:
    """Another gateway replica (its own key cache) in front of the same services."""
    transports = {name: httpx.ASGITransport(app=app) for name, app in platform.apps.items()
                  if name != "gateway"}
    app = create_service_app("gateway", load_settings(platform_env(platform.dsn)),
                             transports=transports)
    async with app.router.lifespan_context(app):
        await asyncio.wait_for(app.state.runtime.migrated.wait(), timeout=30)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://gateway-1") as client:
            yield client


async def _status(gateway: httpx.AsyncClient, api_key: str) -> int:
    return (await gateway.get("/v1/portfolio", headers={"X-API-Key": api_key})).status_code


async def _until_refused(gateway: httpx.AsyncClient, api_key: str, timeout_s: float) -> float:
    start = time.monotonic()
    while await _status(gateway, api_key) != 401:
        assert time.monotonic() - start < timeout_s, f"key still accepted after {timeout_s} s"
        await asyncio.sleep(0.02)
    return time.monotonic() - start


async def test_a_rotated_key_stops_at_once_here_and_within_moments_elsewhere(
    platform: Platform, second_gateway: httpx.AsyncClient
) -> None:
    account_id, headers = await platform.create_account()
    old_key = headers["X-API-Key"]
    await asyncio.sleep(0.2)  # both watchers listening
    assert await _status(platform.gateway, old_key) == 200  # cached by both replicas
    assert await _status(second_gateway, old_key) == 200

    r = await platform.gateway.post(f"/v1/admin/accounts/{account_id}/api-key", headers=ADMIN)
    assert r.status_code == 200 and r.json()["account_id"] == account_id
    new_key = r.json()["api_key"]
    assert await _status(platform.gateway, old_key) == 401  # the serving replica: at once
    assert await _until_refused(second_gateway, old_key, timeout_s=2.0) < 1.0
    assert await _status(platform.gateway, new_key) == 200
    assert await _status(second_gateway, new_key) == 200


async def test_a_revoked_key_stops_and_unknown_accounts_are_404(
    platform: Platform, second_gateway: httpx.AsyncClient
) -> None:
    account_id, headers = await platform.create_account()
    key = headers["X-API-Key"]
    await asyncio.sleep(0.2)
    assert await _status(second_gateway, key) == 200
    r = await second_gateway.delete(f"/v1/admin/accounts/{account_id}/api-key", headers=ADMIN)
    assert r.status_code == 204
    assert await _status(second_gateway, key) == 401
    assert await _until_refused(platform.gateway, key, timeout_s=2.0) < 1.0

    for method in ("POST", "DELETE"):
        r = await platform.gateway.request(method, "/v1/admin/accounts/nobody/api-key",
                                           headers=ADMIN)
        assert r.status_code == 404 and r.json()["field"] == "account_id"
    r = await platform.gateway.delete(f"/v1/admin/accounts/{account_id}/api-key")
    assert r.status_code == 401


async def test_a_rotation_outside_the_gateway_reaches_its_cache(
    platform: Platform, db: asyncpg.Pool
) -> None:
    # ``tradeplat seed`` rotates keys of existing demo accounts straight in the database.
    account_id, headers = await platform.create_account()
    await asyncio.sleep(0.2)
    assert await _status(platform.gateway, headers["X-API-Key"]) == 200
    async with db.acquire() as conn:
        await rotate_api_key(conn, account_id)
    assert await _until_refused(platform.gateway, headers["X-API-Key"], timeout_s=2.0) < 1.0
