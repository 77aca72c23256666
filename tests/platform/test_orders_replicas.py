"""Two ``orders`` replicas (real processes) on one database, crossing orders
sent to both at once: no resting quantity is filled twice, no order overfills."""

from __future__ import annotations

import random
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
from platform_helpers import LivePlatform, db_query

SYMBOL = "MSFT"


def test_two_replicas_never_double_fill_or_overfill(live: LivePlatform) -> None:
    replicas = live.cluster.replicas["orders"]
    assert len(replicas) == 2 and replicas[0].pid != replicas[1].pid
    traders = [live.create_account(positions={SYMBOL: 100_000}) for _ in range(6)]
    rng = random.Random(7)
    jobs = []
    for i in range(200):
        trader = traders[i % len(traders)]
        side = "BUY" if i % 2 else "SELL"
        body = {"client_order_id": f"x-{uuid.uuid4().hex}", "symbol": SYMBOL, "side": side,
                "type": "LIMIT", "quantity": rng.randint(1, 20),
                "price": f"{rng.choice(['409.98', '409.99', '410.00', '410.01', '410.02'])}"}
        if i % 17 == 0:
            body["type"] = "MARKET"
            del body["price"]
        jobs.append((replicas[i % 2].url, trader.account_id, body))

    local = threading.local()
    clients: list[httpx.Client] = []

    def send(job: tuple[str, str, dict[str, object]]) -> int:
        url, account_id, body = job
        if not hasattr(local, "client"):
            local.client = httpx.Client(timeout=15)
            clients.append(local.client)
        r = local.client.post(url + "/internal/orders", json=body,
                              headers={"X-Account-ID": account_id})
        return r.status_code

    try:
        with ThreadPoolExecutor(max_workers=16) as pool:
            codes = list(pool.map(send, jobs))
    finally:
        for client in clients:
            client.close()
    assert codes.count(201) == len(jobs), {c: codes.count(c) for c in set(codes)}
    ids = [t.account_id for t in traders]

    overfilled = db_query(live.dsn, """
        SELECT o.order_id FROM orders o
        LEFT JOIN (SELECT order_id, sum(quantity) AS q FROM fills GROUP BY 1) f USING (order_id)
        WHERE o.account_id = ANY($1)
          AND (o.filled_quantity > o.quantity OR o.filled_quantity <> COALESCE(f.q, 0))""", ids)
    assert overfilled == [], "an order's filled_quantity disagrees with its fills or exceeds it"

    lopsided = db_query(live.dsn, """
        SELECT t.trade_id FROM trades t JOIN fills f USING (trade_id)
        WHERE t.symbol = $1 GROUP BY t.trade_id, t.quantity
        HAVING count(*) <> 2 OR sum(f.quantity) <> 2 * t.quantity
            OR count(*) FILTER (WHERE f.side = 'BUY') <> 1""", SYMBOL)
    assert lopsided == [], "every trade must have exactly one buy and one sell fill"

    trades = db_query(live.dsn, "SELECT count(*) AS n FROM trades WHERE symbol = $1", SYMBOL)
    events = db_query(live.dsn, "SELECT count(*) AS n FROM outbox o JOIN trades t "
                                "ON t.trade_id = o.aggregate_id WHERE t.symbol = $1", SYMBOL)
    assert trades[0]["n"] > 20, "the scenario must actually cross orders"
    assert events[0]["n"] == trades[0]["n"], "one outbox event per trade"

    book = db_query(live.dsn, """
        SELECT max(limit_price) FILTER (WHERE side = 'BUY') AS bid,
               min(limit_price) FILTER (WHERE side = 'SELL') AS ask
        FROM orders WHERE symbol = $1 AND status IN ('NEW', 'PARTIALLY_FILLED')""", SYMBOL)[0]
    if book["bid"] is not None and book["ask"] is not None:
        assert book["bid"] < book["ask"], "the book was left crossed"
    market_resting = db_query(live.dsn, "SELECT count(*) AS n FROM orders WHERE symbol = $1 AND "
                              "order_type = 'MARKET' AND status IN ('NEW', 'PARTIALLY_FILLED')",
                              SYMBOL)
    assert market_resting[0]["n"] == 0
