"""The symbols table, cached briefly in the replica."""

from __future__ import annotations

import time
from dataclasses import dataclass
from decimal import Decimal

from tradeplat.errors import NotFound
from tradeplat.web.runtime import Runtime

CACHE_TTL_S = 5.0


@dataclass(frozen=True)
class SymbolRow:
    symbol: str
    reference_price: Decimal
    tick_size: Decimal
    trading_halted: bool


async def all_symbols(rt: Runtime, *, fresh: bool = False) -> dict[str, SymbolRow]:
    cache = rt.state.get("symbols")
    now = time.monotonic()
    if fresh or cache is None or now - cache[0] > CACHE_TTL_S:
        rows = await rt.db.fetch(
            "SELECT symbol, reference_price, tick_size, trading_halted FROM symbols ORDER BY symbol"
        )
        cache = (now, {r["symbol"]: SymbolRow(**dict(r)) for r in rows})
        rt.state["symbols"] = cache
    return cache[1]  # type: ignore[no-any-return]


async def get_symbol(rt: Runtime, symbol: str) -> SymbolRow:
    """The symbol's row; a miss re-reads the table once (a symbol added since)."""
    found = (await all_symbols(rt)).get(symbol)
    if found is None:
        found = (await all_symbols(rt, fresh=True)).get(symbol)
    if found is None:
        raise NotFound(f"unknown symbol {symbol!r}", field="symbol")
    return found
