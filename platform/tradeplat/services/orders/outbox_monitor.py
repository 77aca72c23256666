"""Background task: keep ``tradeplat_outbox_pending`` / ``_lag_seconds`` current."""

from __future__ import annotations

import asyncio
import logging

from tradeplat.errors import TradeplatError
from tradeplat.services.orders.repository import outbox_health
from tradeplat.web.runtime import Runtime

log = logging.getLogger("tradeplat.orders.outbox")


async def monitor_outbox(rt: Runtime, interval_s: float = 2.0) -> None:
    await rt.wait_database()
    while True:
        try:
            async with rt.db.connection() as conn:
                pending, lag = await outbox_health(conn)
            rt.metrics.outbox_pending.set(pending)
            rt.metrics.outbox_lag.set(lag)
        except TradeplatError as exc:
            log.debug("outbox health unavailable: %s", exc)
        except Exception:
            log.exception("outbox health query failed")
        await asyncio.sleep(interval_s)
