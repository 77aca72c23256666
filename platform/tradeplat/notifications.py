"""A PostgreSQL ``LISTEN`` kept open for the life of a service replica.

Caches of data that can change anywhere (API keys in the gateway, the symbol
table) forget what they hold when a notification arrives. :func:`listen_forever`
owns the connection: it connects (retrying with backoff while the database is
away), registers the listener, calls ``on_connected`` (what changed while nobody
listened must be forgotten too), pings every ``PING_S`` so a dead connection is
noticed, and reconnects when it is lost. Cancelling the task closes it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import asyncpg

from tradeplat.web.runtime import Runtime

log = logging.getLogger("tradeplat.notifications")

PING_S = 2.0  # a lost connection is noticed within this (the caches' TTL covers the gap)


async def listen_forever(
    rt: Runtime,
    channel: str,
    on_notify: Callable[[str], None],
    on_connected: Callable[[], None],
    *,
    what: str,
) -> None:
    """Call ``on_notify(payload)`` for every notification on ``channel``; ``what`` names the
    listener in the logs. Runs until cancelled."""
    await rt.wait_database()
    delay = 0.1
    while True:
        try:
            conn = await asyncpg.connect(rt.db.dsn, timeout=rt.settings.db_timeout_s)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning(f"{what} cannot connect", extra={"error": repr(exc)[:300]})
            await asyncio.sleep(delay)
            delay = min(2.0, delay * 2)
            continue
        try:
            def notified(_conn: Any, _pid: int, _channel: str, payload: str) -> None:
                on_notify(payload)

            await conn.add_listener(channel, notified)
            on_connected()
            delay = 0.1
            while True:
                await asyncio.sleep(PING_S)
                await conn.fetchval("SELECT 1", timeout=rt.settings.db_timeout_s)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning(f"{what} lost its connection", extra={"error": repr(exc)[:300]})
        finally:
            conn.terminate()
