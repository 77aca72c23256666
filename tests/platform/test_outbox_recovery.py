"""A portfolio outage delays fills reaching the ledger but never loses one."""

from __future__ import annotations

import signal
from decimal import Decimal

import httpx
from platform_helpers import LivePlatform, db_query, wait_until

SYMBOL = "AMZN"


def _metric(url: str, name: str) -> float:
    for line in httpx.get(url + "/metrics", timeout=5).text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"{name} missing from {url}/metrics")


def test_trades_made_while_portfolio_is_down_reach_the_ledger_when_it_returns(
    live: LivePlatform,
) -> None:
    cluster = live.cluster
    seller = live.create_account(positions={SYMBOL: 1000})
    buyer = live.create_account(cash="100000")
    for portfolio in cluster.replicas["portfolio"]:  # every relay down, by a crash
        cluster.stop_replica(portfolio, signal.SIGKILL)
    try:
        with httpx.Client(base_url=live.gateway_url, timeout=10) as gw:
            for i in range(5):
                r = gw.post("/v1/orders", headers=seller.headers, json={
                    "client_order_id": f"down-s{i}", "symbol": SYMBOL, "side": "SELL",
                    "type": "LIMIT", "quantity": 10, "price": "180.00"})
                assert r.status_code == 201, r.text
                r = gw.post("/v1/orders", headers=buyer.headers, json={
                    "client_order_id": f"down-b{i}", "symbol": SYMBOL, "side": "BUY",
                    "type": "MARKET", "quantity": 10})
                assert r.status_code == 201 and r.json()["status"] == "FILLED", r.text
            # Trading went on; the ledger has not seen the fills yet.
            pending = db_query(live.dsn, "SELECT count(*) AS n FROM outbox WHERE delivered_at IS "
                               "NULL AND payload->>'buyer_account_id' = $1", buyer.account_id)
            assert pending[0]["n"] == 5
            orders_url = cluster.url("orders")
            wait_until(lambda: _metric(orders_url, "tradeplat_outbox_pending") >= 5, 10,
                       "orders exports the pending outbox events")
            assert _metric(orders_url, "tradeplat_outbox_lag_seconds") > 0
            r = gw.get("/v1/portfolio", headers=buyer.headers)
            assert r.status_code == 503  # portfolio is down: said so, not a 500
    finally:
        restarted = [cluster.start_replica("portfolio", i)
                     for i in range(len(cluster.replicas["portfolio"]))]
        cluster.wait_ready(restarted, timeout_s=60)

    def delivered() -> bool:
        rows = db_query(live.dsn, "SELECT count(*) AS n FROM outbox WHERE delivered_at IS NULL")
        return rows[0]["n"] == 0

    wait_until(delivered, 15, "the restarted portfolio drains the outbox")
    with httpx.Client(base_url=live.gateway_url, timeout=10) as gw:
        book = gw.get("/v1/portfolio", headers=buyer.headers).json()
    assert book["pending_trades"] == 0
    assert Decimal(book["cash"]) == Decimal("100000") - 50 * Decimal("180")
    assert {p["symbol"]: p["quantity"] for p in book["positions"]} == {SYMBOL: 50}
    legs = db_query(live.dsn, "SELECT count(*) AS n FROM ledger_entries WHERE kind = 'TRADE' "
                    "AND account_id = $1", buyer.account_id)
    assert legs[0]["n"] == 10  # cash and shares, once per trade: nothing applied twice
