"""SIGINT and SIGTERM stop a Locust run gracefully, every time.

Ctrl-C raises ``KeyboardInterrupt`` in whichever greenlet runs at that moment.
Locust's ``main`` waits for its runner and shuts down (statistics, CSVs, the
``quitting`` event that closes the journals) when the interrupt reaches it, but
a master's ``client_listener`` catches the interrupt and carries on
(``locust/runners.py``: "Other greenlets should catch this"). A master busy with
its workers' messages (statistics, forwarded journal lines) therefore ignored a
stop now and then: the in-cluster load did not stop within 120 s and its
journals were never collected. Locust's own SIGTERM handler is installed only
once a headless shape run has ended.

Here both signals are handled by gevent in its hub, outside every greenlet, and
throw ``KeyboardInterrupt`` into the main greenlet, where Locust's ``main``
catches it: the same shutdown as Ctrl-C, whatever was running. Once a stop or
Locust's own shutdown has begun, further signals are ignored (an interrupt
thrown into a shutdown would cut it short).
"""

from __future__ import annotations

import logging
import signal
from typing import Any

log = logging.getLogger("tradestorm.load")


class StopSignals:
    """The handler of the stop signals in one Locust process (a master or a standalone)."""

    def __init__(self) -> None:
        self.stopping = False

    def install(self, events: Any) -> None:
        import gevent

        for signum in (signal.SIGINT, signal.SIGTERM):
            gevent.signal_handler(signum, self._on_signal, signum)
        events.quitting.add_listener(self._on_quitting)

    def _on_quitting(self, **_: Any) -> None:
        self.stopping = True  # Locust shuts down (its shape ended, or it was stopped)

    def _on_signal(self, signum: int) -> None:
        import gevent

        if self.stopping:
            log.info("tradestorm load: %s while stopping: ignored", signal.Signals(signum).name)
            return
        self.stopping = True
        log.info("tradestorm load: %s, stopping like Ctrl-C", signal.Signals(signum).name)
        gevent.get_hub().parent.throw(KeyboardInterrupt())


def install_stop_signals(events: Any) -> StopSignals:
    """Handle SIGINT and SIGTERM in this process as described above; returns the handler."""
    handler = StopSignals()
    handler.install(events)
    return handler
