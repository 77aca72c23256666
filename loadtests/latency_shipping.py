"""Moving the per-second latency intervals to the process that writes ``latency.hlog``.

Every load process records into its own :class:`~loadtests.latency.IntervalRecorder`.
Once a second the intervals that are over go to the :class:`~loadtests.latency_log.LatencyLog`:
in a standalone Locust directly; from a ``--worker`` as the Locust custom message
``tradestorm_latency`` ``{"intervals": [[second, kind, class, [[index, count], ...]], ...],
"sends": {"scheduled", "sent", "dropped"}, "final"}`` (``sends`` cumulative), which the
master merges. A worker sends its last intervals (``final``: true) when its users
stop; a headless master, which does not stop its workers before quitting, asks
them at its own ``test_stop`` (``tradestorm_latency_flush``) and waits up to
:data:`FINAL_TIMEOUT_S` for their final message, as it does for the journals
(:mod:`loadtests.forwarding`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from loadtests.latency import IntervalRecorder
from loadtests.latency_log import LatencyLog
from loadtests.rate_split import SendCounters

LATENCY_MESSAGE = "tradestorm_latency"  # worker -> master
FLUSH_MESSAGE = "tradestorm_latency_flush"  # master -> worker: send your last intervals now
SHIP_INTERVAL_S = 1.0
FINAL_TIMEOUT_S = 5.0
log = logging.getLogger("tradestorm.load")


def _wire(intervals: list[Any]) -> list[list[Any]]:
    return [[s, kind, cls, [[i, c] for i, c in counts.items()]]
            for s, kind, cls, counts in intervals]


def _every(interval_s: float, action: Callable[[], None]) -> Any:
    import gevent

    def loop() -> None:
        while True:
            gevent.sleep(interval_s)
            try:
                action()
            except Exception:  # noqa: BLE001 - a failed shipment must not end the loop
                log.exception("tradestorm load: shipping latency intervals failed")

    return gevent.spawn(loop)


# -- a standalone process ------------------------------------------------------
def follow_local(environment: Any, recorder: IntervalRecorder, latency_log: LatencyLog,
                 counters: SendCounters) -> None:
    """Hand the intervals to the log once a second; write everything at the end."""

    def ship(everything: bool = False) -> None:
        latency_log.add(recorder.take(everything=everything))
        latency_log.sends.update("local", counters.as_dict())
        if latency_log.started and not latency_log.closed:
            latency_log.write_ready()

    def stopped(**_: Any) -> None:
        ship(everything=True)
        latency_log.stop_filling()

    environment.events.test_start.add_listener(lambda **_: latency_log.start())
    environment.events.test_stop.add_listener(stopped)

    def close(**_: Any) -> None:
        ship(everything=True)
        latency_log.close()

    environment.events.quitting.add_listener(close)
    _every(SHIP_INTERVAL_S, ship)


# -- a worker --------------------------------------------------------------------
def follow_worker(environment: Any, runner: Any, recorder: IntervalRecorder,
                  counters: SendCounters) -> None:
    """Send the intervals to the master once a second, and the last ones at the end."""
    state = {"last": None}

    def ship(final: bool = False) -> None:
        intervals = recorder.take(everything=final)
        sends = counters.as_dict()
        if not intervals and not final and sends == state["last"]:
            return
        state["last"] = sends
        runner.send_message(LATENCY_MESSAGE, {"intervals": _wire(intervals), "sends": sends,
                                              "final": final})

    def final(**_: Any) -> None:
        try:
            ship(final=True)
        except Exception:  # noqa: BLE001 - the master may be gone already
            log.exception("tradestorm load: sending the last latency intervals failed")

    def flush_requested(environment: Any = None, msg: Any = None, **_: Any) -> None:
        runner.stop()  # the users first: nothing is recorded after the final message
        final()

    environment.events.test_stop.add_listener(final)
    runner.register_message(FLUSH_MESSAGE, flush_requested)
    _every(SHIP_INTERVAL_S, ship)


# -- the master --------------------------------------------------------------------
class LatencyReceiver:
    """The master's side: merges what the workers send into the log."""

    def __init__(self, latency_log: LatencyLog) -> None:
        self.log = latency_log
        self.final_from: set[str] = set()

    def install(self, environment: Any, runner: Any) -> None:
        runner.register_message(LATENCY_MESSAGE, self.handle)
        environment.events.test_start.add_listener(self._started)
        environment.events.test_stop.add_listener(lambda **_: self._stopped(runner))
        environment.events.quitting.add_listener(lambda **_: self.log.close())
        _every(SHIP_INTERVAL_S, self._write)

    def _started(self, **_: Any) -> None:
        self.final_from.clear()
        self.log.start()

    def _stopped(self, runner: Any) -> None:
        self.finish(runner)
        self.log.stop_filling()

    def _write(self) -> None:
        if not self.log.closed and self.log.started:
            self.log.write_ready()

    def handle(self, environment: Any = None, msg: Any = None, **_: Any) -> None:
        node = str(getattr(msg, "node_id", None) or "?")
        data = getattr(msg, "data", None)
        try:
            self.log.add(data["intervals"])
            self.log.sends.update(node, data["sends"])
            final = bool(data["final"])
        except (TypeError, KeyError, ValueError) as exc:
            log.error("latency message from worker %s ignored: %s", node, exc)
            return
        if final:
            self.final_from.add(node)

    def finish(self, runner: Any, timeout_s: float = FINAL_TIMEOUT_S) -> set[str]:
        """Ask the connected workers for their last intervals and wait for them; returns the
        workers that did not answer."""
        import gevent
        from locust.runners import STATE_MISSING

        def waiting() -> set[str]:
            return {c.id for c in runner.clients.values()
                    if c.state != STATE_MISSING and c.id not in self.final_from}

        nodes = waiting()
        for node in nodes:
            try:
                runner.send_message(FLUSH_MESSAGE, None, client_id=node)
            except Exception as exc:  # noqa: BLE001 - Locust's RPCError: the worker is gone
                log.warning("cannot ask worker %s for its last latency intervals: %s", node, exc)
        deadline = time.monotonic() + timeout_s
        while nodes and time.monotonic() < deadline:
            gevent.sleep(0.05)
            nodes = waiting()
        if nodes:
            log.warning("no last latency intervals from worker(s) %s after %.0f s",
                        ", ".join(sorted(nodes)), timeout_s)
        return nodes
