"""Fixtures of the loadtests suite: a consistent trading book in a real PostgreSQL
database (the platform's migrations applied) with the order journal that goes
with it, a fake gateway process, and an accounts file for it."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
import pytest

REPO = Path(__file__).resolve().parents[2]
MIGRATIONS = sorted((REPO / "platform" / "tradeplat" / "migrations").glob("*.sql"))
SYMBOLS = {"AAPL": "100.0000", "MSFT": "300.0000"}


def run(coro: Any) -> Any:
    return asyncio.run(coro)


async def _execute(dsn: str, sql: str, *args: Any) -> Any:
    conn = await asyncpg.connect(dsn)
    try:
        if args:
            return await conn.execute(sql, *args)
        return await conn.execute(sql)
    finally:
        await conn.close()


def sql(dsn: str, statement: str, *args: Any) -> Any:
    """Run one statement (or a script without arguments) against ``dsn``."""
    return run(_execute(dsn, statement, *args))


def oid(n: int) -> str:
    return str(uuid.UUID(int=n))


@dataclass
class Book:
    """A small, consistent trading history and its journal.

    Orders (accounts A and B, both load accounts):
      1  A BUY  LIMIT 10 AAPL @100.00  FILLED by trade 101 (10 @ 100.00)
      2  B SELL LIMIT 10 AAPL @ 99.50  FILLED by trade 101
      3  A BUY  LIMIT 20 AAPL @ 98.00  PARTIALLY_FILLED 5 by trade 102 (5 @ 98.00)
      4  B SELL MARKET 5 AAPL          FILLED by trade 102
      5  B BUY  LIMIT 3 MSFT @290.00   CANCELED (a journaled cancel)
      6  A BUY  LIMIT 9999 MSFT @300   REJECTED (risk)
      7  submitted, never acknowledged, not stored (lost in flight: allowed)
      8  submitted, never acknowledged, stored NEW (allowed)
    """

    dsn: str
    journal_dir: Path
    t0: float = field(default_factory=time.time)

    A = "acct-a"
    B = "acct-b"

    def coid(self, n: int) -> str:
        return f"run1-abcd-{n}"

    def build(self) -> Book:
        run(self._build_db())
        self._write_journal()
        return self

    async def _build_db(self) -> None:
        conn = await asyncpg.connect(self.dsn)
        try:
            for path in MIGRATIONS:
                await conn.execute(path.read_text())
            for sym, price in SYMBOLS.items():
                await conn.execute(
                    "INSERT INTO symbols (symbol, reference_price) VALUES ($1, $2)",
                    sym,
                    Decimal(price),
                )
            for account in (self.A, self.B):
                await conn.execute(
                    "INSERT INTO accounts (account_id, name, api_key_sha256) VALUES ($1, $1, $2)",
                    account,
                    account.encode(),
                )
                await self._deposit(
                    conn,
                    account,
                    {"USD": Decimal("100000"), "AAPL": Decimal(1000), "MSFT": Decimal(100)},
                )
            orders = [
                (1, self.A, "BUY", "LIMIT", 10, "100.00", 10, "FILLED"),
                (2, self.B, "SELL", "LIMIT", 10, "99.50", 10, "FILLED"),
                (3, self.A, "BUY", "LIMIT", 20, "98.00", 5, "PARTIALLY_FILLED"),
                (4, self.B, "SELL", "MARKET", 5, None, 5, "FILLED"),
                (5, self.B, "BUY", "LIMIT", 3, "290.00", 0, "CANCELED"),
                (6, self.A, "BUY", "LIMIT", 9999, "300.00", 0, "REJECTED"),
                (8, self.A, "SELL", "LIMIT", 1, "101.00", 0, "NEW"),
            ]
            for n, acct, side, typ, qty, price, filled, status in orders:
                await conn.execute(
                    "INSERT INTO orders (order_id, account_id, client_order_id, request_sha256, "
                    "symbol, side, order_type, quantity, limit_price, filled_quantity, status) "
                    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                    uuid.UUID(oid(n)),
                    acct,
                    self.coid(n),
                    b"x",
                    "MSFT" if n in (5, 6) else "AAPL",
                    side,
                    typ,
                    qty,
                    Decimal(price) if price else None,
                    filled,
                    status,
                )
            await self._trade(conn, 101, buy=1, sell=2, qty=10, price="100.00")
            await self._trade(conn, 102, buy=3, sell=4, qty=5, price="98.00")
        finally:
            await conn.close()

    async def _deposit(
        self, conn: asyncpg.Connection, account: str, legs: dict[str, Decimal]
    ) -> None:
        journal = uuid.uuid4()
        for asset, amount in legs.items():
            for acct, amt in ((account, amount), ("EXTERNAL", -amount)):
                await conn.execute(
                    "INSERT INTO ledger_entries (journal_id, kind, account_id, asset, amount) "
                    "VALUES ($1, 'DEPOSIT', $2, $3, $4)",
                    journal,
                    acct,
                    asset,
                    amt,
                )
                await self._balance(conn, acct, asset, amt)

    async def _balance(
        self, conn: asyncpg.Connection, account: str, asset: str, amount: Decimal
    ) -> None:
        await conn.execute(
            "INSERT INTO balances AS b (account_id, asset, amount) VALUES ($1, $2, $3) "
            "ON CONFLICT (account_id, asset) DO UPDATE SET amount = b.amount + EXCLUDED.amount",
            account,
            asset,
            amount,
        )

    async def _trade(
        self, conn: asyncpg.Connection, n: int, *, buy: int, sell: int, qty: int, price: str
    ) -> None:
        p = Decimal(price)
        trade = uuid.UUID(oid(n))
        await conn.execute(
            "INSERT INTO trades (trade_id, symbol, price, quantity, buy_order_id, sell_order_id, "
            "aggressor_side) VALUES ($1, 'AAPL', $2, $3, $4, $5, 'SELL')",
            trade,
            p,
            qty,
            uuid.UUID(oid(buy)),
            uuid.UUID(oid(sell)),
        )
        accounts = {}
        for order, side in ((buy, "BUY"), (sell, "SELL")):
            acct = await conn.fetchval(
                "SELECT account_id FROM orders WHERE order_id = $1", uuid.UUID(oid(order))
            )
            accounts[side] = acct
            await conn.execute(
                "INSERT INTO fills (fill_id, trade_id, order_id, account_id, symbol, side, price, "
                "quantity) VALUES ($1, $2, $3, $4, 'AAPL', $5, $6, $7)",
                uuid.UUID(oid(n * 10 + (1 if side == "BUY" else 2))),
                trade,
                uuid.UUID(oid(order)),
                acct,
                side,
                p,
                qty,
            )
        await conn.execute(
            "INSERT INTO outbox (topic, aggregate_id, payload, delivered_at) "
            "VALUES ('trade', $1, '{}'::jsonb, clock_timestamp())",
            trade,
        )
        journal = uuid.uuid4()
        legs = [
            (accounts["BUY"], "AAPL", Decimal(qty)),
            (accounts["BUY"], "USD", -qty * p),
            (accounts["SELL"], "AAPL", Decimal(-qty)),
            (accounts["SELL"], "USD", qty * p),
        ]
        for acct, asset, amount in legs:
            await conn.execute(
                "INSERT INTO ledger_entries (journal_id, kind, trade_id, account_id, asset, "
                "amount) VALUES ($1, 'TRADE', $2, $3, $4, $5)",
                journal,
                trade,
                acct,
                asset,
                amount,
            )
            await self._balance(conn, acct, asset, amount)

    def _write_journal(self) -> None:
        self.journal_dir.mkdir(parents=True, exist_ok=True)
        t = self.t0
        intents = {
            1: (self.A, "AAPL", "BUY", "LIMIT", 10, "100.0000"),
            2: (self.B, "AAPL", "SELL", "LIMIT", 10, "99.5000"),
            3: (self.A, "AAPL", "BUY", "LIMIT", 20, "98.0000"),
            4: (self.B, "AAPL", "SELL", "MARKET", 5, None),
            5: (self.B, "MSFT", "BUY", "LIMIT", 3, "290.0000"),
            6: (self.A, "MSFT", "BUY", "LIMIT", 9999, "300.0000"),
            7: (self.B, "AAPL", "BUY", "LIMIT", 1, "90.0000"),
            8: (self.A, "AAPL", "SELL", "LIMIT", 1, "101.0000"),
        }
        acks = {
            1: ("NEW", 0),
            2: ("FILLED", 10),
            3: ("NEW", 0),
            4: ("FILLED", 5),
            5: ("NEW", 0),
            6: ("REJECTED", 0),
        }
        lines: list[dict[str, Any]] = [
            {
                "kind": "start",
                "t": t - 1,
                "run_id": "run1",
                "pid": 1,
                "host": "h",
                "schema": 1,
                "accounts": [self.A, self.B],
            }
        ]
        for n, (acct, sym, side, typ, qty, price) in intents.items():
            intent = {
                "client_order_id": self.coid(n),
                "account_id": acct,
                "symbol": sym,
                "side": side,
                "type": typ,
                "quantity": qty,
                "price": price,
            }
            lines.append({"kind": "submit", "t": t, **intent})
            if n in acks:
                status, filled = acks[n]
                lines.append(
                    {
                        "kind": "ack",
                        "t": t,
                        **intent,
                        "order_id": oid(n),
                        "status": status,
                        "filled_quantity": filled,
                        "http_status": 201,
                        "replayed": False,
                        "attempts": 1,
                    }
                )
        lines.append(
            {
                "kind": "cancel",
                "t": t,
                "order_id": oid(5),
                "account_id": self.B,
                "status": "CANCELED",
                "filled_quantity": 0,
            }
        )
        lines.append({"kind": "end", "t": t + 60, "submitted": 8, "acknowledged": 6})
        (self.journal_dir / "orders-h-1.jsonl").write_text(
            "".join(json.dumps(line) + "\n" for line in lines)
        )


@pytest.fixture
def book(make_database: Callable[[str], str], tmp_path: Path) -> Book:
    return Book(dsn=make_database("recon"), journal_dir=tmp_path / "journal").build()


@dataclass
class FakeGatewayProcess:
    url: str
    process: subprocess.Popen[str]

    def orders(self) -> dict[str, Any]:
        import urllib.request

        with urllib.request.urlopen(self.url + "/_fake/orders", timeout=5) as resp:
            return json.load(resp)


def start_fake_gateway(*args: str) -> FakeGatewayProcess:
    process = subprocess.Popen(
        [sys.executable, "-m", "loadtests.fakegateway", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line.startswith("listening "):
        process.kill()
        raise RuntimeError(f"fake gateway did not start: {line}{process.stdout.read()}")
    return FakeGatewayProcess(url=line.split()[1], process=process)


@pytest.fixture
def fake_gateway() -> Iterator[FakeGatewayProcess]:
    gw = start_fake_gateway("--lose-ack-every", "7", "--reject-every", "5")
    try:
        yield gw
    finally:
        stop_gateway(gw)


def stop_gateway(gw: FakeGatewayProcess) -> None:
    """Stop a fake gateway started by ``start_fake_gateway`` (killed after 5 s)."""
    gw.process.terminate()
    try:
        gw.process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        gw.process.kill()
        gw.process.wait()
    if gw.process.stdout:
        gw.process.stdout.close()


@pytest.fixture
def fake_accounts(tmp_path: Path) -> Path:
    path = tmp_path / "accounts.json"
    path.write_text(
        json.dumps(
            {
                "accounts": [
                    {"account_id": f"acct-k{i}", "name": f"loadtest-{i:04d}", "api_key": f"k{i}"}
                    for i in range(1, 4)
                ]
            }
        )
    )
    return path
