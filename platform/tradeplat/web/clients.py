"""Calls to another tradeplat service: one pooled httpx transport per dependency.

The wire work is aiohttp's pool behind httpx's API (``web/transport.py`` says
why); the pool holds ``TRADEPLAT_CALL_POOL_MAX`` connections (10) per
dependency. Waiting longer than the timeout for a connection, or to open one,
is a connect timeout: never sent, so safe to retry, then a 503.

Every call has a deadline: an attempt's answer must be complete within the
call timeout (``TRADEPLAT_CALL_TIMEOUT_S``) plus the connect budget, however
it trickles in; past it the attempt is a read timeout (sent, answer lost).

The caller's deadline travels with every call (``tradeplat.deadline``): an
attempt lasts at most what is left of the current request's deadline, and its
``X-Request-Timeout-Ms`` header tells the callee how long this attempt will
wait (written when the request goes on the wire); with no time left, no
attempt starts (``DeadlineExceeded``, 503).

Only idempotent calls are retried, and never while a copy may still run on
the callee: a GET when the connection could not be opened (the request never
left) or when the callee answered 502/503/504 (its work is over; not a
``deadline_exceeded``, whose time is spent, nor an ``overloaded``, which says when
to come back); a call marked ``safe_on_connect``
(e.g. an order submission, idempotent on its client order id) only when the
request never left. A read timeout or a connection lost after sending is not
retried: the callee may still be computing, and it stops by itself at the
deadline it was given. Retries come out of a per-dependency budget
(``retry_budget.py``: about 10 % extra calls over 10 s) after a jittered
exponential backoff. Transport failures become ``DependencyUnavailable``
naming the dependency (HTTP 503).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import random
import time
from typing import Any

import httpx

from tradeplat import deadline
from tradeplat.errors import DeadlineExceeded, DependencyUnavailable
from tradeplat.observability import request_id
from tradeplat.observability.metrics import Metrics
from tradeplat.web.retry_budget import RetryBudget
from tradeplat.web.transport import DEADLINE_EXTENSION, AiohttpTransport

log = logging.getLogger("tradeplat.clients")

_RETRYABLE_STATUS = {502, 503, 504}
#: Backoff before retry n: a uniform draw in [0, min(cap, base × 2ⁿ)] ("full jitter").
BACKOFF_BASE_S = 0.05
BACKOFF_CAP_S = 1.0


#: 503 answers not retried: the deadline is spent, or the callee sheds load and said
#: when to come back (``Retry-After``), later than any backoff here.
_FINAL_503 = (b'"deadline_exceeded"', b'"overloaded"')


def _worth_retrying(response: httpx.Response) -> bool:
    """A 502/503/504 answer, unless it says the deadline is spent or the callee is shedding."""
    if response.status_code not in _RETRYABLE_STATUS:
        return False
    head = response.content[:200]
    return not any(code in head for code in _FINAL_503)


def _backoff_s(attempt: int, left_s: float | None) -> float:
    pause = random.uniform(0, min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2**attempt))
    # leave the next attempt some of the time that is left
    return pause if left_s is None else max(0.0, min(pause, left_s / 4))


def _with_request_id(headers: dict[str, str]) -> dict[str, str]:
    rid = request_id.current()
    if rid and not any(k.lower() == "x-request-id" for k in headers):
        headers["X-Request-ID"] = rid
    return headers


class ServiceClient:
    """Requests are ``httpx.Request``/``httpx.Response`` handed straight to the
    transport: ``httpx.AsyncClient``'s own layers (URL merging, cookies, auth and
    redirect flows, event hooks) cost about a tenth of the gateway's CPU per call
    and serve nothing between services."""

    def __init__(
        self,
        name: str,
        base_url: str,
        *,
        timeout_s: float,
        metrics: Metrics | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        max_connections: int = 10,
        attempts: int = 2,
    ) -> None:
        self.name = name
        self.base_url = base_url
        self.timeout_s = timeout_s
        self.metrics = metrics
        self.attempts = max(1, attempts)
        self.budget = RetryBudget()
        self._root = base_url.rstrip("/")
        self._timeouts = _timeouts(timeout_s)
        self._transport = transport or AiohttpTransport(max_connections=max_connections)

    async def aclose(self) -> None:
        await self._transport.aclose()

    def _build(
        self, method: str, path: str, *, timeouts: dict[str, float | None] | None = None,
        headers: dict[str, str] | None = None, json: Any = None, content: bytes | None = None,
        params: dict[str, Any] | None = None, ends_at: float | None = None,
    ) -> httpx.Request:
        extensions: dict[str, Any] = {"timeout": timeouts or self._timeouts}
        if ends_at is not None:
            extensions[DEADLINE_EXTENSION] = ends_at
        return httpx.Request(
            method, _url(self._root, path) if not params else self._root + path,
            params=params or None,
            headers=_with_request_id(dict(headers or {})), json=json, content=content,
            extensions=extensions,
        )

    async def _send(self, request: httpx.Request) -> httpx.Response:
        response = await self._transport.handle_async_request(request)
        response.request = request
        try:
            await response.aread()
        finally:
            await response.aclose()
        return response

    def attempt_deadline_s(self, timeout_s: float | None = None) -> float:
        """How long one attempt may last: the call timeout plus the connect budget."""
        budget_s = self.timeout_s if timeout_s is None else timeout_s
        return budget_s + min(budget_s, 1.0)

    async def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        content: bytes | None = None,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        timeout_s: float | None = None,
        safe_on_connect: bool = False,
    ) -> httpx.Response:
        """``content``: a body already serialised (sent with its ``Content-Type``
        header by the caller) instead of ``json``."""
        idempotent = method in {"GET", "HEAD", "OPTIONS"}
        timeouts = None if timeout_s is None else _timeouts(timeout_s)
        # Per-read timeouts do not bound an answer that trickles in: a deadline does.
        own_deadline_s = self.attempt_deadline_s(timeout_s)
        last_exc: Exception | None = None
        self.budget.called()
        for attempt in range(1, self.attempts + 1):
            deadline_s = deadline.bound(own_deadline_s)
            if deadline_s <= 0:
                if last_exc is None:
                    raise DeadlineExceeded(
                        f"no time left to call {self.name}", dependency=self.name
                    )
                break
            try:
                # The callee's budget: what this attempt waits, the read timeout
                # (a silent callee is given up on after it) when shorter;
                # rewritten by the transport when the request leaves.
                budget_s = min(deadline_s, self.timeout_s if timeout_s is None else timeout_s)
                request = self._build(
                    method, path, timeouts=timeouts, json=json, content=content,
                    params=params,
                    headers={**(headers or {}), deadline.HEADER: str(int(budget_s * 1000))},
                    ends_at=time.monotonic() + deadline_s,
                )
                response = await self._request_by_deadline(request, deadline_s)
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
                # The request never reached the server: no copy of it runs there, so it
                # is safe to retry when idempotent or when the operation itself is.
                last_exc = exc
                if (not (idempotent or safe_on_connect) or attempt == self.attempts
                        or not self.budget.try_retry()):
                    break
            except httpx.TransportError as exc:  # read timeout, reset after sending, ...
                # Sent: the callee may still be working on it, and a retry would be a
                # second copy of that work. Never retried.
                last_exc = exc
                break
            else:
                # The callee answered, so its work on this attempt is over.
                if not (idempotent and attempt < self.attempts
                        and _worth_retrying(response) and self.budget.try_retry()):
                    return response
                await response.aclose()
                last_exc = None
            if self.metrics is not None:
                self.metrics.upstream_retries.labels(self.name).inc()
            await asyncio.sleep(_backoff_s(attempt, deadline.remaining()))
        assert last_exc is not None  # a 5xx on the last attempt was returned above
        kind = "timed out" if isinstance(last_exc, httpx.TimeoutException) else "unreachable"
        left = deadline.remaining()
        if kind == "timed out" and left is not None and left <= 0:
            raise DeadlineExceeded(
                f"{self.name} did not answer within the caller's deadline", dependency=self.name
            ) from last_exc
        raise DependencyUnavailable(
            f"{self.name} {kind}: {type(last_exc).__name__}", dependency=self.name
        ) from last_exc

    async def _request_by_deadline(
        self, request: httpx.Request, deadline_s: float
    ) -> httpx.Response:
        try:
            async with asyncio.timeout(deadline_s):
                return await self._send(request)
        except TimeoutError:
            raise httpx.ReadTimeout(
                f"no complete answer within {deadline_s:g} s", request=request
            ) from None

    async def healthy(self, timeout_s: float = 1.0) -> bool:
        try:
            response = await self._send(
                self._build("GET", "/healthz", timeouts=httpx.Timeout(timeout_s).as_dict()))
        except httpx.HTTPError:
            return False
        return response.status_code == 200


@functools.lru_cache(maxsize=1024)
def _url(root: str, path: str) -> httpx.URL:
    """A parsed URL, kept: parsing one costs more than the rest of building a request."""
    return httpx.URL(root + path)


def _timeouts(timeout_s: float) -> dict[str, float | None]:
    """The ``timeout`` request extension: connect (and a pooled connection's wait
    within it) bounded to a second, reads and writes to the call timeout."""
    return httpx.Timeout(timeout_s, connect=min(timeout_s, 1.0)).as_dict()
