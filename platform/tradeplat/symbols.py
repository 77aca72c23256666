"""The symbols table, served from the replica's memory.

Every service that needs symbols (orders' tick sizes, marketdata's list and
quotes, analytics) reads them from a copy in memory, read from the database at
most once per ``CACHE_TTL_S`` and forgotten as soon as the table changes:

* at once on the replica that made the change (``all_symbols(fresh=True)``);
* on every other replica when PostgreSQL delivers the change's notification
  (``SYMBOLS_CHANNEL``, sent by a trigger with the commit of any change to the
  table: migration 0005), which ``watch_symbol_changes`` listens for on a
  connection of its own;
* while a replica's watcher is disconnected, within ``CACHE_TTL_S`` at most,
  and at the latest when it listens again: it then forgets its copy.

A symbol not in the copy is read afresh once (a symbol added since).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from decimal import Decimal

from tradeplat.errors import NotFound
from tradeplat.notifications import listen_forever
from tradeplat.web.runtime import Runtime

#: Longest a copy is served without a change notification (watcher disconnected).
CACHE_TTL_S = 30.0
#: PostgreSQL NOTIFY channel of every change to ``symbols`` (migration 0005).
SYMBOLS_CHANNEL = "tradeplat_symbols"


@dataclass(frozen=True)
class SymbolRow:
    symbol: str
    reference_price: Decimal
    tick_size: Decimal
    trading_halted: bool


def forget_symbols(rt: Runtime) -> None:
    """Drop this replica's copy: the next read goes to the database. A read that
    started before this does not keep what it read."""
    rt.state["symbols_generation"] = rt.state.get("symbols_generation", 0) + 1
    rt.state.pop("symbols", None)


async def all_symbols(rt: Runtime, *, fresh: bool = False) -> dict[str, SymbolRow]:
    cache = rt.state.get("symbols")
    now = time.monotonic()
    if fresh or cache is None or now - cache[0] > CACHE_TTL_S:
        generation = rt.state.get("symbols_generation", 0)
        rows = await rt.db.fetch(
            "SELECT symbol, reference_price, tick_size, trading_halted FROM symbols ORDER BY symbol"
        )
        symbols = {r["symbol"]: SymbolRow(**dict(r)) for r in rows}
        if generation == rt.state.get("symbols_generation", 0):
            rt.state["symbols"] = (now, symbols)
        return symbols
    return cache[1]  # type: ignore[no-any-return]


async def get_symbol(rt: Runtime, symbol: str) -> SymbolRow:
    """The symbol's row; a miss re-reads the table once (a symbol added since)."""
    found = (await all_symbols(rt)).get(symbol)
    if found is None:
        found = (await all_symbols(rt, fresh=True)).get(symbol)
    if found is None:
        raise NotFound(f"unknown symbol {symbol!r}", field="symbol")
    return found


async def watch_symbol_changes(rt: Runtime) -> None:
    """Background task: forget the copy when ``symbols`` changes anywhere (``LISTEN``)."""
    await listen_forever(rt, SYMBOLS_CHANNEL, lambda _payload: forget_symbols(rt),
                         lambda: forget_symbols(rt), what="symbols watcher")
