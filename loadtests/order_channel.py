"""The open-model sender's order submission: one POST route, lean, reported to Locust.

``FastHttpSession.post`` builds each request anew: it parses the URL, merges and
case-folds the headers, runs the cookie jar both ways, copies the response into
a context manager. For the open-model sender (:mod:`loadtests.users.arrivals`),
which sends every order on its own wake-up, that made Locust's post more than half
of the generator's CPU per order (py-spy, ``benchmarks/bench_loadgen.py``). An
:class:`OrderChannel` serves exactly one route with fixed headers: the request
head is built once, each order adds its ``Content-Length`` and body, and the
connection pool and the response parser are geventhttpclient's own (the library
under ``FastHttpSession``: keep-alive, dead-socket checks, chunked bodies,
timeouts). About half the CPU of Locust's post per order (measured: 120 against
226 µs one at a time, 48 against 179 µs ten at a time, same fake gateway).

Locust still counts every request: each answer fires the environment's ``request``
event with the fields ``FastHttpSession`` gives it (``request_type``, ``name``,
``response_time`` in ms, ``response_length``, ``exception``, ``context``,
``response``, ``url``, ``start_time``), so Locust's statistics, the client
metrics built from them and every listener see the same thing as before.
:class:`SentRequest` is what ``post(..., catch_response=True)`` gives a user: a
context manager with ``status_code``, ``headers``, ``content``, ``text``,
``error``, ``request_meta``, ``success()`` and ``failure()``, with Locust's
rules: unmarked, a status of 400 or more (or no answer) is a failure.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from geventhttpclient.connectionpool import ConnectionPool, SSLConnectionPool
from geventhttpclient.header import Headers
from geventhttpclient.response import HTTPParseError, HTTPSocketPoolResponse
from geventhttpclient.url import URL
from locust.contrib.fasthttp import FAILURE_EXCEPTIONS, insecure_ssl_context_factory
from locust.exception import CatchResponseError, ResponseError

# what FastHttpSession turns into "no answer" (status 0 and ``error``) instead of raising,
# and a malformed answer
NO_ANSWER = (*FAILURE_EXCEPTIONS, HTTPParseError)
USER_AGENT = "tradestorm-load"


class OrderChannel:
    """``POST`` of one path with fixed headers to one host, over a pool of keep-alive
    connections; answers are reported to Locust's ``request`` event."""

    def __init__(
        self,
        base_url: str,
        path: str,
        route_name: str,
        headers: Mapping[str, str],
        request_event: Any,
        *,
        concurrency: int,
        connection_timeout: float,
        network_timeout: float,
    ) -> None:
        url = URL(base_url)
        if url.scheme not in ("http", "https"):
            raise ValueError(f"the load host must be an http:// or https:// URL, got {base_url!r}")
        default_port = 443 if url.scheme == "https" else 80
        hostname = f"[{url.host}]" if ":" in url.host else url.host  # an IPv6 address
        host = hostname if url.port == default_port else f"{hostname}:{url.port}"
        self.url = base_url.rstrip("/") + path
        target = url.path.rstrip("/") + path
        lines = [f"POST {target} HTTP/1.1", f"Host: {host}", f"User-Agent: {USER_AGENT}",
                 "Accept-Encoding: identity"]
        lines += [f"{k}: {v}" for k, v in headers.items()
                  if k.lower() not in ("host", "content-length", "user-agent", "accept-encoding")]
        self._head = ("\r\n".join(lines) + "\r\nContent-Length: ").encode("latin-1")
        pool_type = SSLConnectionPool if url.scheme == "https" else ConnectionPool
        # like FastHttpUser (insecure by default): a gateway's certificate is not checked
        extra: dict[str, Any] = ({"insecure": True,
                                  "ssl_context_factory": insecure_ssl_context_factory}
                                 if url.scheme == "https" else {})
        self._pool = pool_type(url.host, url.port, url.host, url.port, size=max(1, concurrency),
                               connection_timeout=connection_timeout,
                               network_timeout=network_timeout, **extra)
        self.name = route_name
        self._event = request_event
        self.closed = False

    def post(self, body: str | bytes) -> SentRequest:
        """Send ``body``; the answer (or the error that stood for it) as a context manager
        that reports the request to Locust when it exits."""
        if isinstance(body, str):
            body = body.encode()
        start_time = time.time()
        started = time.perf_counter()
        status, content, error = 0, b"", None
        try:
            sock = self._pool.get_socket()
            try:
                sock.sendall(b"%s%d\r\n\r\n%s" % (self._head, len(body), body))
            except BaseException:
                self._pool.release_socket(sock)
                raise
            # the response returns the socket to the pool, or closes it, on every path
            response = HTTPSocketPoolResponse(sock, self._pool, method="POST")
            try:
                content = response.read()
                status, headers = response.status_code, response.info()
            finally:
                response.release()
        except NO_ANSWER as exc:
            headers, error = Headers(), exc
        return SentRequest(self, status, headers, content, error, start_time,
                           (time.perf_counter() - started) * 1000.0)

    def report(self, request_meta: dict[str, Any]) -> None:
        """Tell Locust of one request (its ``request`` event, ``FastHttpSession``'s fields)."""
        self._event.fire(**request_meta)

    def close(self) -> None:
        self.closed = True
        self._pool.close()


class SentRequest:
    """One answered (or failed) request, as Locust's ``catch_response`` context manager."""

    __slots__ = ("_channel", "_result", "content", "error", "headers", "request_meta",
                 "status_code")

    def __init__(self, channel: OrderChannel, status: int, headers: Any, content: bytes,
                 error: BaseException | None, start_time: float, response_ms: float) -> None:
        self._channel = channel
        self.status_code = status
        self.headers = headers
        self.content = content
        self.error = error
        self._result: bool | BaseException | None = None  # marked by success()/failure()
        self.request_meta: dict[str, Any] = {
            "request_type": "POST", "name": channel.name, "context": {}, "response": self,
            "exception": None, "start_time": start_time, "url": channel.url,
            "response_time": response_ms, "response_length": len(content),
        }

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")

    def success(self) -> None:
        self._result = True

    def failure(self, exc: str | BaseException) -> None:
        self._result = exc if isinstance(exc, BaseException) else CatchResponseError(exc)

    def __enter__(self) -> SentRequest:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> bool:
        if exc is not None and self._result is None:
            if not isinstance(exc, ResponseError):
                return False  # an error of the caller's, not the request's: not reported
            self._result = exc  # as Locust: a ResponseError raised in the block is the failure
            exc = None
        result = self._result
        if result is None:
            if self.error is not None:
                result = self.error
            elif self.status_code >= 400:
                result = CatchResponseError(f"HTTP {self.status_code}")
        meta = self.request_meta
        meta["exception"] = None if result is None or result is True else result
        self._channel.report(meta)
        return exc is None
