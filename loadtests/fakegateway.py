"""A FAKE trading gateway for tests and benchmarks of the load generator.

It is NOT the platform: it answers the public API's routes (docs/contracts.md
§1.1) the load users call with canned, fast answers and keeps orders in memory
with the API's idempotency rules (201 new, 200 replay with
``Idempotent-Replayed: true``). Every ``--lose-ack-every`` N-th new order is
stored but answered 503, to exercise the client's retry with the same client
order id; every ``--stall-every`` N-th new order is stored but answered only
after ``--stall-s`` seconds (a client timeout); every ``--reject-every`` N-th
new order is stored as REJECTED (a risk denial); every ``--throttle-every``
N-th order submission is refused with 429 and ``Retry-After: 1`` (no order).
``--stall-once-after N --stall-once-s S [--stall-window-s W]`` stalls ONCE: the
N-th new order opens a window of W seconds (default S) and every request that
arrives while it is open (that order included) is answered S seconds after it
arrived, as by a dependency that hangs; the requests and orders held are counted
(``stalled``, ``stalled_orders``, and the window's unix times ``stall_window``).
``GET /_fake/orders`` returns what it stored and those counts, and the
``Authorization`` headers the order submissions came with (``authorizations``).

Run: ``python -m loadtests.fakegateway [--port 0]``; it prints
``listening http://127.0.0.1:PORT`` once it accepts connections.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import sys
import time
import uuid
from typing import Any

SYMBOLS = [
    {"symbol": s, "reference_price": "100.0000", "tick_size": "0.0100", "trading_halted": False}
    for s in ("AAPL", "MSFT", "GOOG", "AMZN", "TSLA")
]
JSON = [(b"content-type", b"application/json")]


class FakeGateway:
    """The ASGI application."""

    def __init__(
        self,
        lose_ack_every: int = 0,
        reject_every: int = 0,
        stall_every: int = 0,
        stall_s: float = 0.0,
    ) -> None:
        self.lose_ack_every = lose_ack_every
        self.reject_every = reject_every
        self.stall_every = stall_every
        self.stall_s = stall_s
        self.throttle_every = 0
        self.stall_once_after = 0
        self.stall_once_s = 0.0
        self.stall_window_s: float | None = None
        self.stall_window: tuple[float, float] | None = None  # unix times, once opened
        self.stalled = 0
        self.stalled_orders = 0
        self.orders: dict[tuple[str, str], dict[str, Any]] = {}
        self.by_id: dict[str, dict[str, Any]] = {}
        self.posts = 0
        #: the Authorization headers the order submissions came with, and how many each
        self.authorizations: dict[str, int] = {}
        self._created = 0
        self._symbols = json.dumps({"symbols": SYMBOLS}).encode()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                else:
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        body = b""
        more = True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        created = self._created
        status, payload, headers = self.handle(scope, body)
        if self.stall_once_after:
            await self._stall_once(self._created > created)
        if self.stall_every and self._created > created and self._created % self.stall_every == 0:
            await asyncio.sleep(self.stall_s)  # the order is stored; its answer comes too late
        await send({"type": "http.response.start", "status": status, "headers": JSON + headers})
        await send({"type": "http.response.body", "body": payload})

    async def _stall_once(self, new_order: bool) -> None:
        now = time.time()
        if (self.stall_window is None and new_order
                and self._created >= self.stall_once_after):
            window = self.stall_once_s if self.stall_window_s is None else self.stall_window_s
            self.stall_window = (now, now + window)
        if self.stall_window is not None and self.stall_window[0] <= now < self.stall_window[1]:
            self.stalled += 1
            self.stalled_orders += int(new_order)
            await asyncio.sleep(self.stall_once_s)

    def handle(self, scope: dict[str, Any], body: bytes) -> tuple[int, bytes, list]:
        method, path = scope["method"], scope["path"]
        headers = dict(scope["headers"])
        key = headers.get(b"x-api-key", b"").decode()
        if path == "/healthz":
            return 200, b'{"ok":true}', []
        if path == "/_fake/orders":
            return (
                200,
                json.dumps({
                    "orders": list(self.by_id.values()),
                    "posts": self.posts,
                    "authorizations": self.authorizations,
                    "stalled": self.stalled,
                    "stalled_orders": self.stalled_orders,
                    "stall_window": self.stall_window,
                }).encode(),
                [],
            )
        if not key:
            return 401, b'{"detail":"missing X-API-Key"}', []
        account = "acct-" + key
        if path == "/v1/orders" and method == "POST":
            auth = headers.get(b"authorization", b"").decode("latin-1")
            self.authorizations[auth] = self.authorizations.get(auth, 0) + 1
            return self.submit(account, body)
        if path.startswith("/v1/orders/"):
            order = self.by_id.get(path.split("/")[3])
            if order is None or order["account_id"] != account:
                return 404, b'{"detail":"order not found"}', []
            if method == "DELETE":
                if order["status"] not in ("NEW", "PARTIALLY_FILLED"):
                    return 409, b'{"detail":"order is final"}', []
                order["status"] = "CANCELED"
            if path.endswith("/fills"):
                return 200, b'{"fills":[]}', []
            return 200, json.dumps(order).encode(), []
        if path == "/v1/orders":
            mine = [o for o in self.by_id.values() if o["account_id"] == account][-50:]
            return 200, json.dumps({"orders": mine[::-1]}).encode(), []
        if path == "/v1/marketdata/symbols":
            return 200, self._symbols, []
        if path.startswith("/v1/marketdata/quotes/"):
            sym = path.rsplit("/", 1)[1]
            return (
                200,
                json.dumps(
                    {
                        "symbol": sym,
                        "bid": "99.9900",
                        "ask": "100.0100",
                        "last": "100.0000",
                        "ts": 0,
                    }
                ).encode(),
                [],
            )
        if path.startswith("/v1/marketdata/candles/"):
            return 200, b'{"symbol":"AAPL","interval":"1m","candles":[]}', []
        if path == "/v1/portfolio":
            return (
                200,
                json.dumps(
                    {
                        "account_id": account,
                        "cash": "1000000.0000",
                        "positions": [],
                        "pending_trades": 0,
                    }
                ).encode(),
                [],
            )
        if path == "/v1/portfolio/ledger":
            return 200, b'{"entries":[]}', []
        if path.startswith("/v1/analytics/risk/"):
            return 200, b'{"symbol":"AAPL","window":250,"volatility":"0.01"}', []
        return 404, b'{"detail":"no such route"}', []

    def submit(self, account: str, body: bytes) -> tuple[int, bytes, list]:
        self.posts += 1
        if self.throttle_every and self.posts % self.throttle_every == 0:
            return 429, b'{"detail":"rate limited (fake)"}', [(b"retry-after", b"1")]
        try:
            req = json.loads(body)
            coid = req["client_order_id"]
        except (ValueError, KeyError, TypeError):
            return 422, b'{"detail":[{"loc":["body","client_order_id"],"msg":"required"}]}', []
        existing = self.orders.get((account, coid))
        if existing is not None:
            if existing["_request"] != body:
                return 409, b'{"detail":"client_order_id reused with another body"}', []
            return 200, json.dumps(_public(existing)).encode(), [(b"idempotent-replayed", b"true")]
        self._created += 1
        rejected = bool(self.reject_every) and self._created % self.reject_every == 0
        order = {
            "order_id": str(uuid.uuid4()),
            "client_order_id": coid,
            "account_id": account,
            "symbol": req.get("symbol"),
            "side": req.get("side"),
            "type": req.get("type"),
            "quantity": req.get("quantity"),
            "price": req.get("price"),
            "filled_quantity": 0,
            "status": "REJECTED"
            if rejected
            else ("CANCELED" if req.get("type") == "MARKET" else "NEW"),
            "reject_reason": "max_order_notional" if rejected else None,
            "created_at": "2026-01-01T00:00:00Z",
            "updated_at": "2026-01-01T00:00:00Z",
            "_request": body,
        }
        self.orders[(account, coid)] = order
        self.by_id[order["order_id"]] = _public(order)
        if self.lose_ack_every and self._created % self.lose_ack_every == 0:
            return 503, b'{"detail":"ack lost (fake)"}', []
        return 201, json.dumps(_public(order)).encode(), []


def _public(order: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in order.items() if not k.startswith("_")}


def main(argv: list[str] | None = None) -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--lose-ack-every", type=int, default=0)
    parser.add_argument("--reject-every", type=int, default=0)
    parser.add_argument("--stall-every", type=int, default=0)
    parser.add_argument("--stall-s", type=float, default=0.0)
    parser.add_argument("--throttle-every", type=int, default=0)
    parser.add_argument("--stall-once-after", type=int, default=0)
    parser.add_argument("--stall-once-s", type=float, default=0.0)
    parser.add_argument("--stall-window-s", type=float, default=None)
    args = parser.parse_args(argv)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((args.host, args.port))
    app = FakeGateway(args.lose_ack_every, args.reject_every, args.stall_every, args.stall_s)
    app.throttle_every = args.throttle_every
    app.stall_once_after = args.stall_once_after
    app.stall_once_s = args.stall_once_s
    app.stall_window_s = args.stall_window_s
    config = uvicorn.Config(
        app, log_level="warning", access_log=False, lifespan="on", http="httptools", loop="uvloop"
    )
    server = uvicorn.Server(config)

    original_startup = server.startup

    async def startup(sockets: Any = None) -> None:
        await original_startup(sockets=sockets)
        print(f"listening http://{args.host}:{sock.getsockname()[1]}", flush=True)

    server.startup = startup  # type: ignore[method-assign]
    server.run(sockets=[sock])
    sys.exit(0)


if __name__ == "__main__":
    main()
