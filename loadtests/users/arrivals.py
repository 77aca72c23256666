"""The open-model sender: orders on the arrival-rate schedule, whatever the answers.

One :class:`OrderArrivals` user runs per load process (the shape asks for one per
process; an extra one idles). Its task walks this process's share of the
schedule (:mod:`loadtests.rate_split`): it waits for each send's due time, taken
from absolute times (``t0 + t_k``; a late wake-up is caught up, never
accumulated), and starts the order in a greenlet of its own, so a slow answer
delays no other send. At most the process's in-flight bound of orders are
outstanding; a send that falls due while the bound is reached is DROPPED: never
made, and counted (``tradestorm_client_dropped_sends_total``, ``sends.json``).
Every answer is timed from its actual send and from the scheduled time
(``intended``): with the sends on time both agree; when the generator falls
behind (or for an order's retries, timed from the order's scheduled time) the
intended-time latency carries the wait.

The sender wakes at most once per ``--send-tick`` (default 1 ms): when the next
send is due sooner than a tick after the sender last woke, it sleeps until that
tick is over and then sends every order due by then. Orders a tick or more apart
each go at their own time; closer ones go out together, up to a tick late (the
intended-time latency includes that), and one wake-up of the sender and of the
event loop serves several orders (about a tenth less CPU per order at 4000
orders/s, ``benchmarks/bench_loadgen.py``).

Orders are posted through an :class:`~loadtests.order_channel.OrderChannel`
(Locust still counts every request). Orders are a trader's: client order id,
journal, retries with the same id (:class:`~loadtests.users.trader.Trader`).
"""

from __future__ import annotations

import logging
import math
import time
from typing import Any

import gevent
from greenlet import getcurrent, greenlet

from loadtests.context import load_context
from loadtests.metrics import route_class
from loadtests.order_channel import OrderChannel, SentRequest
from loadtests.rate_split import Assignment
from loadtests.users.base import CONTEXT_WAIT_S
from loadtests.users.trader import Trader

ASSIGNMENT_WAIT_S = 30.0
RECHECK_S = 0.25  # longest sleep before looking for a newer split again
ENDPOINT, METHOD = "/v1/orders", "POST"
ROUTE_CLASS = route_class(ENDPOINT, METHOD)
log = logging.getLogger("tradestorm.load")


class OrderArrivals(Trader):
    """Submits orders at the times of the run's arrival-rate schedule."""

    weight = 1

    def __init__(self, environment: Any) -> None:
        ctx = load_context(environment, wait_s=CONTEXT_WAIT_S)
        # the order channel's pool holds as many connections as orders may be in flight (so
        # does the Locust client's, which only reads the symbol list)
        self.concurrency = max(1, ctx.settings.max_in_flight)
        super().__init__(environment)
        # the session's base URL and Basic auth: Locust's reading of credentials in the host
        # URL (``http://user:pass@gateway``), taken out of the URL into an Authorization header
        headers = dict(self.order_headers)
        if self.client.auth_header and not any(k.lower() == "authorization" for k in headers):
            headers["Authorization"] = self.client.auth_header
        self._channel = OrderChannel(
            self.client.base_url, ENDPOINT, ENDPOINT, headers, environment.events.request,
            concurrency=self.concurrency, connection_timeout=self.connection_timeout,
            network_timeout=self.network_timeout)
        self._in_flight = 0
        # the orders' greenlets in flight: raw greenlets (a Group's Greenlet, link and
        # bookkeeping cost about 5 µs an order), killed at stop like a Group's
        self._orders: set[greenlet] = set()
        self._unix_offset = time.time() - time.monotonic()

    def wait_time(self) -> float:
        return 0.0

    def send_on_schedule(self) -> None:
        ctx = self.ctx
        if ctx.sender_active or ctx.schedule is None:
            gevent.sleep(3600)  # one sender per process; the others idle
            return
        ctx.sender_active = True
        try:
            self._run()
        finally:
            ctx.sender_active = False


    def _first_assignment(self) -> Assignment | None:
        share = self.ctx.rate_share
        deadline = time.monotonic() + ASSIGNMENT_WAIT_S
        while not share.assignments:
            if time.monotonic() > deadline:
                log.error("tradestorm load: no share of the schedule after %.0f s: "
                          "this process sends nothing", ASSIGNMENT_WAIT_S)
                return None
            gevent.sleep(0.05)
        return share.assignments[0]

    def _run(self) -> None:
        ctx = self.ctx
        schedule, share, counters = ctx.schedule, ctx.rate_share, ctx.sends
        assert schedule is not None
        a = self._first_assignment()
        if a is None:
            _idle()
        self._unix_offset = time.time() - time.monotonic()
        t0 = a.t0 - self._unix_offset  # the profile's start on the monotonic clock
        k = a.first_slot(schedule.first_at_or_after(a.from_s))
        spawn, orders = gevent.spawn_raw, self._orders
        tick = ctx.settings.send_tick_s
        self.symbols()  # once, before the first send (not one fetch per early order)
        monotonic = time.monotonic
        woke = -math.inf  # when the sender last woke to send
        while True:
            t = schedule.time_of(k)
            if t is None:
                break
            newer = share.next_after(a.from_s)
            if newer is not None and t >= newer.from_s:
                a = newer
                k = a.first_slot(schedule.first_at_or_after(a.from_s))
                continue
            due = t0 + t
            now = monotonic()
            wait = due - now
            if wait > 0:
                if wait > RECHECK_S:
                    gevent.sleep(RECHECK_S)
                    continue
                # sending an order alone costs a wake-up of its own (the sleep, then its
                # answer alone): the sender wakes at most once a tick, so orders closer
                # than that go together, at most a tick late (their intended-time latency
                # says so); orders a tick or more apart each go at their own time
                gevent.sleep(max(wait, woke + tick - now))
                woke = monotonic()
            counters.scheduled += 1
            if self._in_flight >= a.in_flight:
                counters.dropped += 1  # never sent later: counted, shown in sends.json
            else:
                self._in_flight += 1
                counters.sent += 1
                orders.add(spawn(self._send, due))
            k += a.count
        _idle()  # the schedule is over: the profile's end stops this user

    def _send(self, due: float) -> None:
        try:
            self.submit_order(intended=due)
        except gevent.GreenletExit:
            pass  # killed at stop
        except Exception:  # noqa: BLE001 - logged with the run's log, not left to the hub
            if not self._channel.closed:  # at stop: the channel closed under a late starter
                log.exception("tradestorm load: an order failed outside its request")
        finally:
            self._in_flight -= 1
            self._orders.discard(getcurrent())

    def post_order(self, body: str) -> SentRequest:
        return self._channel.post(body)

    def answered(self, sent: float, intended: float) -> None:
        now = time.monotonic()
        recorder = self.ctx.latency
        if recorder is not None:
            recorder.record(ROUTE_CLASS, int((now - sent) * 1e6), int((now - intended) * 1e6),
                            now + self._unix_offset)
        metrics = self.ctx.metrics
        if metrics is not None:
            metrics.observe_intended(ENDPOINT, ROUTE_CLASS, now - intended)

    def on_stop(self) -> None:
        for order in list(self._orders):
            gevent.kill(order)
        self._channel.close()


def _idle() -> None:
    while True:
        gevent.sleep(3600)


# set after the class is built: Locust's metaclass would add the inherited ``step`` (a trader's
# random action) to a ``tasks`` list given in the class body
OrderArrivals.tasks = [OrderArrivals.send_on_schedule]
