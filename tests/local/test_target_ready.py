"""A local target brought up for the session: every component ready, state as contracted."""

from __future__ import annotations

import json

import httpx

from tradestorm.local.topology import SERVICES


def test_every_component_is_ready_and_reachable(local_target) -> None:
    status = local_target.target.status()
    assert status.running and status.healthy, [c for c in status.components if not c.healthy]
    names = {c.name for c in status.components}
    assert {"supervisor", "postgres", "prometheus", *SERVICES} <= names
    assert {f"proxy/{s}" for s in (*SERVICES, "postgres")} <= names
    for c in status.components:
        if c.kind == "service":
            assert (c.replicas_ready, c.replicas_desired) == (2, 2), c

    state = local_target.state
    assert state["schema"] == 1
    assert state["gateway_url"].startswith("http://127.0.0.1:")
    for service in SERVICES:
        svc = state["services"][service]
        assert len(svc["replicas"]) == 2
        assert all(r["pid"] and r["port"] for r in svc["replicas"])
        # the public address is the proxy, not a replica
        assert svc["proxy_url"] not in {f"http://127.0.0.1:{r['port']}" for r in svc["replicas"]}
    assert state["proxies"]["postgres"]["listen"].startswith("127.0.0.1:")

    # the gateway answers through its proxy, with a seeded account
    accounts = json.loads(local_target.accounts_file.read_text())["accounts"]
    assert len(accounts) >= 1
    resp = httpx.get(f"{local_target.gateway_url}/v1/portfolio",
                     headers={"X-API-Key": accounts[0]["api_key"]}, timeout=5)
    assert resp.status_code == 200, resp.text
    assert resp.json()["account_id"] == accounts[0]["account_id"]
