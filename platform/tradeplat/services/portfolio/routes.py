"""portfolio's internal API: an account's cash, positions and ledger."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from tradeplat import deadline
from tradeplat.money import CASH_ASSET
from tradeplat.schemas import LedgerEntry, LedgerPage, Portfolio, Position
from tradeplat.web.deps import AccountDep, RuntimeDep

router = APIRouter(prefix="/internal/portfolio", tags=["portfolio"])


@router.get("", response_model=Portfolio)
async def get_portfolio(rt: RuntimeDep, account_id: AccountDep) -> Portfolio:
    async with deadline.enforced("database"), rt.db.connection() as conn:
        rows = await conn.fetch(
            "SELECT asset, amount FROM balances WHERE account_id = $1 ORDER BY asset", account_id
        )
        pending = await conn.fetchval(
            "SELECT count(*) FROM outbox WHERE delivered_at IS NULL AND topic = 'trade' "
            "AND (payload->>'buyer_account_id' = $1 OR payload->>'seller_account_id' = $1)",
            account_id,
        )
    cash = next((r["amount"] for r in rows if r["asset"] == CASH_ASSET), 0)
    positions = [
        Position(symbol=r["asset"], quantity=int(r["amount"]))
        for r in rows if r["asset"] != CASH_ASSET
    ]
    return Portfolio(account_id=account_id, cash=cash, positions=positions,
                     pending_trades=int(pending))


@router.get("/ledger", response_model=LedgerPage)
async def get_ledger(
    rt: RuntimeDep, account_id: AccountDep, limit: Annotated[int, Query(ge=1, le=1000)] = 100
) -> LedgerPage:
    rows = await rt.db.fetch(
        "SELECT entry_id, journal_id, kind, trade_id, asset, amount, created_at "
        "FROM ledger_entries WHERE account_id = $1 ORDER BY entry_id DESC LIMIT $2",
        account_id, limit,
    )
    return LedgerPage(entries=[LedgerEntry(**dict(r)) for r in rows])
