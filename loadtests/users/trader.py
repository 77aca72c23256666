"""Traders: submit LIMIT and MARKET orders, cancel them, poll them.

Every submission carries a client order id and is journaled as an intent
before the first attempt. After a timeout, a connection error or a 5xx the
same body (same client order id) is sent again, up to ``--order-attempts``
times with jittered exponential backoff; the platform answers a replay with
200 and ``Idempotent-Replayed: true``. A 201/200 acknowledges the order and is
journaled; a risk denial (201, status REJECTED) counts as ``denied`` and a 429
as ``throttled``: both are correct answers, not failures.
"""

from __future__ import annotations

import json
from collections import deque
from time import monotonic
from typing import Any

import gevent

from loadtests.orders import ClientOrderIds, draw_intent
from loadtests.users.base import PlatformUser, _describe

OPEN = frozenset({"NEW", "PARTIALLY_FILLED"})


class Trader(PlatformUser):
    weight = 5
    think_time = (0.5, 1.5)
    actions = ((55, "submit_order"), (15, "cancel_order"), (20, "poll_order"), (10, "list_orders"))
    market_share = 0.2
    max_known_orders = 50

    def __init__(self, environment: Any) -> None:
        super().__init__(environment)
        if self.ctx.order_ids is None:
            self.ctx.order_ids = ClientOrderIds(self.ctx.settings.run_id)
        self.order_headers = {**self.auth, "Content-Type": "application/json"}
        self.known: deque[str] = deque(maxlen=self.max_known_orders)  # acknowledged order ids
        self.open: dict[str, str] = {}  # order id -> status, for orders still on the book

    # -- submit --------------------------------------------------------------
    def submit_order(self, intended: float | None = None) -> dict[str, Any] | None:
        """Submit one order; returns the acknowledged order or None.

        ``intended``: the monotonic time the schedule meant to send it (open-model
        senders, :mod:`loadtests.users.arrivals`): every attempt's answer is then
        timed from its own send and from that time (:meth:`answered`)."""
        ctx = self.ctx
        assert ctx.order_ids is not None
        intent = draw_intent(
            self.rng,
            ctx.tradable or self.symbols(),
            self.account.account_id,
            ctx.order_ids,
            market_share=self.market_share,
        )
        # encoded once: every attempt sends the same bytes, submit and ack share the fields
        body, fields = intent.encoded()
        journal = ctx.journal
        if journal is not None:
            journal.submitted_fields(fields)
        post = self.post_order
        attempts = ctx.settings.order_attempts
        for attempt in range(1, attempts + 1):
            sent = monotonic() if intended is not None else 0.0
            with post(body) as resp:
                code = resp.status_code
                if intended is not None:
                    self.answered(sent, intended)
                if code == 201 or code == 200:
                    order = _order_of(resp)
                    if order is None:
                        resp.failure(f"HTTP {code} without an order in the body")
                    else:
                        # a replay is answered 200 (the header only says so again)
                        replayed = code == 200
                        if journal is not None:
                            journal.acknowledged_order(
                                None,
                                order,
                                http_status=code,
                                replayed=replayed,
                                attempts=attempt,
                                fields=fields,
                            )
                        if order.get("status") == "REJECTED":
                            self.mark(resp, "denied")
                        resp.success()
                        self._remember(order)
                        return order
                elif code == 429:  # refused before any order was created
                    self.throttled(resp)
                    return None
                elif code == 0 or code >= 500:
                    resp.failure(f"{_describe(resp)} (attempt {attempt}/{attempts})")
                else:
                    resp.failure(_describe(resp))  # a 4xx: the request itself is wrong
                    return None
            if attempt < attempts:
                gevent.sleep(min(2.0, 0.1 * 2**attempt) * (0.5 + self.rng.random()))
        return None

    def post_order(self, body: str) -> Any:
        """``POST /v1/orders`` with ``body``: the answer as Locust's ``catch_response``
        context manager (the open-model sender posts through its own channel)."""
        return self.client.post("/v1/orders", data=body, headers=self.order_headers,
                                name="/v1/orders", catch_response=True)

    def answered(self, sent: float, intended: float) -> None:
        """Record an order's answer timed from ``sent`` and from ``intended`` (monotonic);
        closed-model users are timed by a listener instead (:mod:`loadtests.hooks`)."""

    def _remember(self, order: dict[str, Any]) -> None:
        order_id = str(order["order_id"])
        self.known.append(order_id)
        if order.get("status") in OPEN:
            self.open[order_id] = str(order["status"])
        if len(self.open) > self.max_known_orders:
            self.open.pop(next(iter(self.open)))

    # -- cancel, poll, list ----------------------------------------------------
    def cancel_order(self) -> None:
        if not self.open:
            self.submit_order()
            return
        order_id = self.rng.choice(sorted(self.open))
        with self.client.delete(
            f"/v1/orders/{order_id}",
            name="/v1/orders/{order_id}",
            headers=self.auth,
            catch_response=True,
        ) as resp:
            code = resp.status_code
            if code == 200:
                order = _order_of(resp)
                if order is not None and self.ctx.journal is not None:
                    self.ctx.journal.canceled_order(order)
                self.open.pop(order_id, None)
                resp.success()
            elif code == 409:  # filled or canceled meanwhile: a correct answer
                self.open.pop(order_id, None)
                resp.success()
            elif code == 429:
                self.throttled(resp)
            else:
                resp.failure(_describe(resp))

    def poll_order(self) -> None:
        if not self.known:
            self.list_orders()
            return
        order_id = self.rng.choice(self.known)
        with self.client.get(
            f"/v1/orders/{order_id}",
            name="/v1/orders/{order_id}",
            headers=self.auth,
            catch_response=True,
        ) as resp:
            if self.classify(resp) == "ok":
                order = _order_of(resp)
                if order is not None and order.get("status") not in OPEN:
                    self.open.pop(order_id, None)

    def list_orders(self) -> None:
        self.read("/v1/orders?limit=50", "/v1/orders [list]")


_scan = json.JSONDecoder().scan_once  # the C scanner json.loads ends in, without its wrappers


def _order_of(resp: Any) -> dict[str, Any] | None:
    """The order in an answer's body (a JSON object with a string ``order_id``), or None."""
    try:
        text = resp.content.decode()  # JSON is UTF-8 (RFC 8259): no charset sniffing
        try:
            order, end = _scan(text, 0)
        except StopIteration:  # leading whitespace, or not JSON: the full parser decides
            order, end = json.loads(text), len(text)
    except (ValueError, TypeError, AttributeError, StopIteration):
        return None  # not UTF-8, not JSON, no body
    if not isinstance(order, dict) or not isinstance(order.get("order_id"), str):
        return None
    if end != len(text) and text[end:].strip():
        return None  # trailing garbage: json.loads would refuse it too
    return order
