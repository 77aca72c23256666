"""Background task: publish the simulated quotes to the ``quotes`` table each second.

risk reads the last price from there to value MARKET orders. Every replica
computes the same prices (the simulator is deterministic), so concurrent
writers agree and the last write wins harmlessly.
"""

from __future__ import annotations

import asyncio
import logging

from tradeplat.errors import TradeplatError
from tradeplat.services.marketdata.routes import current_quote
from tradeplat.symbols import all_symbols
from tradeplat.web.runtime import Runtime

log = logging.getLogger("tradeplat.marketdata.quotes")


async def publish_quotes(rt: Runtime, interval_s: float = 1.0) -> None:
    await rt.wait_database()
    while True:
        try:
            symbols = await all_symbols(rt)
            quotes = [await current_quote(rt, s) for s in symbols]
            await rt.db.execute(
                "INSERT INTO quotes AS q (symbol, bid, ask, last, updated_at) "
                "SELECT s, b, a, l, clock_timestamp() FROM unnest($1::text[], $2::numeric[], "
                "$3::numeric[], $4::numeric[]) AS x(s, b, a, l) "
                "ON CONFLICT (symbol) DO UPDATE SET bid = EXCLUDED.bid, ask = EXCLUDED.ask, "
                "last = EXCLUDED.last, updated_at = EXCLUDED.updated_at",
                [q.symbol for q in quotes], [q.bid for q in quotes], [q.ask for q in quotes],
                [q.last for q in quotes],
            )
        except TradeplatError as exc:
            log.debug("quotes not published: %s", exc)
        except Exception:
            log.exception("publishing quotes failed")
        await asyncio.sleep(interval_s)
