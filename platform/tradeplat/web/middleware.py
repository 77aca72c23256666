"""Pure ASGI middleware: request id + RED metrics + access log, load shedding,
and a body limit."""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tradeplat import deadline
from tradeplat.errors import ClientError, DeadlineExceeded, Overloaded, PayloadTooLarge
from tradeplat.observability import request_id
from tradeplat.observability.metrics import Metrics

access_log = logging.getLogger("tradeplat.access")
error_log = logging.getLogger("tradeplat.errors")

UNMATCHED_ROUTE = "<unmatched>"
_KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_QUIET_ROUTES = {"/healthz", "/readyz", "/metrics"}


async def _send_json(send: Send, status: int, body: dict[str, object]) -> None:
    raw = json.dumps(body).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(raw)).encode())]})
    await send({"type": "http.response.body", "body": raw})


def _route_template(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else UNMATCHED_ROUTE


class RequestContextMiddleware:
    """Sets the request id (taken or generated), records RED metrics by route
    template, writes one JSON access line per request and echoes ``X-Request-ID``.

    An exception that escapes the app (a bug) is answered here, as a JSON 500
    carrying the request id, so it is counted and traceable like any answer."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics
        #: (route, method, status) -> its counter and histogram series: ``labels()``
        #: takes a lock and builds a key on every call; the set of keys is bounded.
        self._series: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    def _record(self, route: str, method: str, status: int, elapsed: float) -> None:
        key = (route, method, status)
        series = self._series.get(key)
        if series is None:
            series = (self.metrics.http_requests.labels(route, method, str(status)),
                      self.metrics.http_duration.labels(route, method))
            self._series[key] = series
        series[0].inc()
        series[1].observe(elapsed)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = None
        for name, value in scope.get("headers", ()):
            if name == b"x-request-id":
                incoming = value.decode("latin-1")
                break
        rid = request_id.accept_or_generate(incoming)
        token = request_id.set_current(rid)
        status_holder = {"status": 500}
        started = False
        start = time.perf_counter()
        self.metrics.http_in_flight.inc()

        async def send_wrapper(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                status_holder["status"] = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", rid.encode("latin-1")))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        except Exception as exc:
            error_log.error("unhandled error on %s %s", scope.get("method", ""),
                            scope.get("path", ""), exc_info=exc)
            if started:
                raise  # too late for an answer: the connection is dropped
            await _answer_internal_error(send_wrapper, rid)
        finally:
            elapsed = time.perf_counter() - start
            self.metrics.http_in_flight.dec()
            route = _route_template(scope)
            method = scope.get("method", "")
            if method not in _KNOWN_METHODS:  # bound the label's cardinality
                method = "OTHER"
            status = status_holder["status"]
            self._record(route, method, status, elapsed)
            if (route not in _QUIET_ROUTES or status >= 400) and access_log.isEnabledFor(
                    logging.INFO):
                access_log.info(
                    "request",
                    extra={
                        "method": method,
                        "path": scope.get("path", ""),
                        "route": route,
                        "status": status,
                        "duration_ms": round(elapsed * 1000, 2),
                    },
                )
            request_id.reset(token)


async def _answer_internal_error(send: Send, rid: str) -> None:
    await _send_json(send, 500, {"error": "internal_error",
                                 "detail": "an unexpected error occurred", "request_id": rid})


#: Set in the scope of a request over the concurrency limit.
SHED = "tradeplat.shed"


class ConcurrencyLimitMiddleware:
    """Sheds load beyond ``max_in_flight`` concurrent requests instead of
    queueing without bound. Probes and ``/metrics`` are exempt: a busy replica
    is neither dead nor unscrapable.

    A request over the limit is marked, and :func:`refuse_when_shed` (through
    :func:`refuse_shed_or_past_deadline`, a dependency of every route) raises
    ``Overloaded`` for it: a JSON 503 with ``Retry-After``, its ``X-Request-ID``,
    counted in ``http_requests_total`` under its route like any answer."""

    def __init__(self, app: ASGIApp, max_in_flight: int) -> None:
        self.app = app
        self.max_in_flight = max_in_flight
        self.in_flight = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") in _QUIET_ROUTES:
            await self.app(scope, receive, send)
            return
        if self.in_flight >= self.max_in_flight:
            scope[SHED] = self.max_in_flight
            await self.app(scope, receive, send)
            return
        self.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1


async def refuse_when_shed(request: Request) -> None:
    limit = request.scope.get(SHED)
    if limit is not None:
        raise Overloaded(f"more than {limit} requests in flight; retry later")


#: Set in the scope of a request whose deadline header is malformed or spent.
REFUSED_DEADLINE = "tradeplat.deadline_refused"
_DEADLINE_HEADER = deadline.HEADER.lower().encode("latin-1")


class DeadlineMiddleware:
    """Starts the request's deadline from its ``X-Request-Timeout-Ms`` budget
    (``tradeplat.deadline``) for everything the request does, and resets it after.

    A malformed value (422 naming the header) or a budget already spent on
    arrival (503 ``deadline_exceeded``) is marked, and :func:`refuse_past_deadline`
    (through :func:`refuse_shed_or_past_deadline`, a dependency of every route)
    raises it before any work, so the answer is counted under its route like any
    other."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        raw = None
        if scope["type"] == "http" and scope.get("path") not in _QUIET_ROUTES:
            for name, value in scope.get("headers", ()):
                if name == _DEADLINE_HEADER:
                    raw = value.decode("latin-1")
                    break
        if raw is None:
            await self.app(scope, receive, send)
            return
        try:
            budget_s = deadline.parse(raw)
        except ClientError as exc:
            scope[REFUSED_DEADLINE] = exc
            await self.app(scope, receive, send)
            return
        token = deadline.start(budget_s)
        try:
            left = deadline.remaining()
            if left is not None and left <= 0:
                scope[REFUSED_DEADLINE] = DeadlineExceeded(
                    f"{deadline.HEADER}: {raw} ms leaves no time to work", dependency="caller")
            await self.app(scope, receive, send)
        finally:
            deadline.reset(token)


async def refuse_past_deadline(request: Request) -> None:
    refusal = request.scope.get(REFUSED_DEADLINE)
    if refusal is not None:
        raise refusal


async def refuse_shed_or_past_deadline(request: Request) -> None:
    """:func:`refuse_when_shed`, then :func:`refuse_past_deadline`: the one dependency
    of every route (each dependency costs FastAPI a resolution per request)."""
    await refuse_when_shed(request)
    await refuse_past_deadline(request)


class BodySizeLimitMiddleware:
    """Refuses a body larger than ``max_bytes`` with 413, announced or streamed."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def _refuse(self, send: Send) -> None:
        refusal = PayloadTooLarge(f"request body exceeds {self.max_bytes} bytes", field="body")
        body = json.dumps(refusal.to_body()).encode()
        await send({"type": "http.response.start", "status": refusal.status_code,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode()),
                                (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = -1
                if declared > self.max_bytes:
                    await self._refuse(send)
                    return
        received = 0
        refused = False

        async def limited_receive() -> Message:
            nonlocal received, refused
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes and not refused:
                    # Answer 413 now; whatever the app does with the error that
                    # follows is dropped by ``guarded_send``.
                    refused = True
                    await self._refuse(send)
                    raise _BodyTooLarge()
            return message

        async def guarded_send(message: Message) -> None:
            if not refused:
                await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except _BodyTooLarge:
            pass


class _BodyTooLarge(Exception):
    pass

