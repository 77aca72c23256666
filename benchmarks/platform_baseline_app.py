"""The benchmark's baseline: a bare FastAPI + asyncpg endpoint doing one insert.

Run as its own process by ``bench_platform.py``:

    python benchmarks/platform_baseline_app.py --port P --dsn DSN
"""

from __future__ import annotations

import argparse
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal

import asyncpg
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel


class Order(BaseModel):
    client_order_id: str
    symbol: str
    side: str
    type: str
    quantity: int
    price: Decimal | None = None


def build_app(dsn: str) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool = await asyncpg.create_pool(dsn, min_size=1, max_size=10, command_timeout=2)
        await pool.execute(
            "CREATE TABLE IF NOT EXISTS bench_orders (id bigserial PRIMARY KEY, "
            "client_order_id text NOT NULL, symbol text NOT NULL, side text NOT NULL, "
            "order_type text NOT NULL, quantity bigint NOT NULL, price numeric(18,4), "
            "created_at timestamptz NOT NULL DEFAULT clock_timestamp())"
        )
        app.state.pool = pool
        yield
        await pool.close()

    app = FastAPI(lifespan=lifespan)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/orders", status_code=201)
    async def create(order: Order, request: Request) -> JSONResponse:
        row_id = await request.app.state.pool.fetchval(
            "INSERT INTO bench_orders (client_order_id, symbol, side, order_type, quantity, "
            "price) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            order.client_order_id, order.symbol, order.side, order.type, order.quantity,
            order.price,
        )
        return JSONResponse({"id": row_id, "status": "NEW"}, status_code=201)

    return app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dsn", required=True)
    args = parser.parse_args()
    uvicorn.run(build_app(args.dsn), host="127.0.0.1", port=args.port, access_log=False,
                log_level="warning")


if __name__ == "__main__":
    main()
