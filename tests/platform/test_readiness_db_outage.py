"""Readiness follows the database: false while it is stopped, true again by
itself when it returns, and the pool serves again without a restart."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
from platform_cluster import Cluster
from platform_helpers import ADMIN_KEY, wait_until
from tradeplat.migrations import migrate_dsn

from tradestorm.local.postgres import PostgresServer


def _ready(url: str) -> bool:
    try:
        return httpx.get(url + "/readyz", timeout=3).status_code == 200
    except httpx.HTTPError:
        return False


def test_readiness_false_during_database_outage_then_true_on_its_own(
    own_postgres: PostgresServer, tmp_path: Path
) -> None:
    asyncio.run(migrate_dsn(own_postgres.dsn))
    cluster = Cluster(own_postgres.dsn, tmp_path / "procs",
                      replicas_per_service={"gateway": 1, "orders": 1, "risk": 1},
                      admin_key=ADMIN_KEY, extra_env={"TRADEPLAT_DB_TIMEOUT_S": "1.0"})
    with cluster:
        cluster.start(timeout_s=60)
        gw = cluster.url("gateway")
        r = httpx.post(gw + "/v1/admin/accounts", json={"name": "r", "cash": "1000"},
                       headers={"X-Admin-Key": ADMIN_KEY}, timeout=10)
        key = {"X-API-Key": r.json()["api_key"]}
        order = {"symbol": "AAPL", "side": "BUY", "type": "LIMIT", "quantity": 1,
                 "price": "1.00"}
        assert httpx.post(gw + "/v1/orders", json={**order, "client_order_id": "before"},
                          headers=key, timeout=10).status_code == 201

        own_postgres.stop(mode="fast")
        for service in ("gateway", "orders", "risk"):
            wait_until(lambda s=service: not _ready(cluster.url(s)), 10,
                       f"{service} reports not ready")
        answer = httpx.get(cluster.url("orders") + "/readyz", timeout=5)
        assert answer.status_code == 503 and "database" in answer.json()["failing"]
        # A request during the outage is a clean 503, not a 500 or a hang.
        start = time.monotonic()
        r = httpx.post(gw + "/v1/orders", json={**order, "client_order_id": "during"},
                       headers=key, timeout=15)
        assert r.status_code == 503, r.text
        assert time.monotonic() - start < 8
        assert httpx.get(gw + "/healthz", timeout=3).status_code == 200  # alive, not ready

        own_postgres.start()
        for service in ("gateway", "orders", "risk"):
            wait_until(lambda s=service: _ready(cluster.url(s)), 20,
                       f"{service} ready again without a restart")
        r = httpx.post(gw + "/v1/orders", json={**order, "client_order_id": "after"},
                       headers=key, timeout=10)
        assert r.status_code == 201, r.text
        assert all(rep.process.poll() is None for rep in cluster.all_replicas())
