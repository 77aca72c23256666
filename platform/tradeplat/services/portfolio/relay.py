"""Background task: drain the outbox into the ledger, forever.

While the database or this replica is down, events simply wait in the
outbox (written with the fills); they are applied when the relay next runs.
"""

from __future__ import annotations

import asyncio
import logging

from tradeplat.errors import PoisonEvent, TradeplatError
from tradeplat.services.portfolio.ledger import deliver_batch
from tradeplat.web.runtime import Runtime

log = logging.getLogger("tradeplat.portfolio.relay")

IDLE_SLEEP_MAX_S = 0.25


async def run_relay(rt: Runtime) -> None:
    await rt.wait_database()
    idle = rt.settings.relay_idle_s
    poison: set[int] = set()
    while True:
        try:
            async with rt.db.connection() as conn:
                delivered = await deliver_batch(conn, rt.settings.relay_batch_size, poison)
        except PoisonEvent as exc:
            # Set it aside (it stays pending: the outbox lag alerts on it) and go on
            # with the others; a restarted relay tries it again.
            poison.add(exc.event_id)
            rt.metrics.outbox_poison.set(len(poison))
            log.error("outbox event set aside: %s", exc.message)
            continue
        except TradeplatError as exc:
            log.warning("relay paused: %s", exc)
            await asyncio.sleep(0.5)
            continue
        except Exception:
            log.exception("relay batch failed; retrying")
            await asyncio.sleep(1.0)
            continue
        if delivered:
            rt.metrics.outbox_delivered.inc(delivered)
            idle = rt.settings.relay_idle_s
            continue
        await asyncio.sleep(idle)
        idle = min(IDLE_SLEEP_MAX_S, idle * 1.5)
