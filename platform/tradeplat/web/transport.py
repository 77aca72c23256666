"""An httpx transport on aiohttp's connection pool.

The services talk through httpx's requests and transports (``web/clients.py``:
one API for calls, retries, timeouts, and in-process ``ASGITransport`` in tests),
but httpcore's pool
spends CPU per request in proportion to its connections (it polls every idle
socket on every request): measured on this 2-core machine, ~1.2–3 ms of CPU per
call with 32 calls in flight, against ~0.2 ms for aiohttp's pool. This adapter
keeps httpx's interface and moves the wire work to aiohttp (already a runtime
dependency of the project). aiohttp errors map onto httpx's, so callers can
still tell "never sent" (connect errors and timeouts, pool timeouts) from
"sent, answer lost" (read errors and timeouts).
"""

from __future__ import annotations

import time

import aiohttp
import httpx

from tradeplat import deadline

#: httpx request extension: the attempt's deadline (``time.monotonic()``); the
#: transport rewrites ``X-Request-Timeout-Ms`` from it once a connection is ready.
DEADLINE_EXTENSION = "tradeplat.deadline"
#: Carries that deadline and the read timeout from ``handle_async_request`` to
#: the request object (never sent: replaced by ``X-Request-Timeout-Ms``).
_ENDS_AT = "x-tradeplat-ends-at"


class _DeadlineRequest(aiohttp.ClientRequest):
    """Writes the budget when the request goes on the wire, after any wait for a
    pooled connection or a connect: what is left of the attempt's deadline, or
    the read timeout (a silent callee is given up on after it) when shorter.
    The callee never gets more time than this caller will wait."""

    async def send(self, conn: aiohttp.connector.Connection) -> aiohttp.ClientResponse:
        carried = self.headers.popone(_ENDS_AT, None)
        if carried is not None:
            ends_at, _, read_s = carried.partition(";")
            left_s = float(ends_at) - time.monotonic()
            if read_s:
                left_s = min(left_s, float(read_s))
            self.headers[deadline.HEADER] = str(max(0, int(left_s * 1000)))
        return await super().send(conn)

_HOP_BY_HOP = frozenset({"host", "content-length", "connection", "transfer-encoding",
                         "keep-alive"})


class AiohttpTransport(httpx.AsyncBaseTransport):
    def __init__(self, *, max_connections: int = 10, keepalive_expiry_s: float = 15) -> None:
        # Idle connections are dropped well before the server's keep-alive
        # timeout (uvicorn: 30 s here), so a request never races the server
        # closing the connection it was just written to.
        self._max_connections = max_connections
        self._keepalive_expiry_s = keepalive_expiry_s
        self._session: aiohttp.ClientSession | None = None

    def _get_session(self) -> aiohttp.ClientSession:
        # Created lazily: a ClientSession belongs to the running event loop.
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(
                limit=self._max_connections,
                keepalive_timeout=self._keepalive_expiry_s,
                ttl_dns_cache=60,
            )
            self._session = aiohttp.ClientSession(
                connector=connector, auto_decompress=False, cookie_jar=aiohttp.DummyCookieJar(),
                request_class=_DeadlineRequest,
            )
        return self._session

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        limits = request.extensions.get("timeout", {})
        connect = limits.get("connect")
        pool = limits.get("pool")
        timeout = aiohttp.ClientTimeout(
            total=None,
            # Waiting for a pooled connection and opening one: "never sent".
            connect=(pool or 0) + (connect or 0) or None,
            sock_connect=connect,
            sock_read=limits.get("read"),
        )
        headers = [(k, v) for k, v in request.headers.multi_items()
                   if k.lower() not in _HOP_BY_HOP]
        ends_at = request.extensions.get(DEADLINE_EXTENSION)
        if ends_at is not None:
            read = limits.get("read")
            headers.append((_ENDS_AT, f"{float(ends_at)!r};{'' if read is None else read!r}"))
        body = await request.aread()
        try:
            async with self._get_session().request(
                request.method, str(request.url), headers=headers, data=body or None,
                allow_redirects=False, timeout=timeout,
            ) as response:
                content = await response.read()
                return httpx.Response(
                    status_code=response.status,
                    headers=[(k.decode("latin-1"), v.decode("latin-1"))
                             for k, v in response.raw_headers],
                    content=content,
                    request=request,
                )
        except aiohttp.ConnectionTimeoutError as exc:
            raise httpx.ConnectTimeout(str(exc) or "connect timeout", request=request) from exc
        except aiohttp.SocketTimeoutError as exc:
            raise httpx.ReadTimeout(str(exc) or "read timeout", request=request) from exc
        except aiohttp.ClientConnectorError as exc:
            raise httpx.ConnectError(str(exc), request=request) from exc
        except aiohttp.ServerDisconnectedError as exc:
            raise httpx.RemoteProtocolError(str(exc) or "server disconnected",
                                            request=request) from exc
        except aiohttp.ClientError as exc:
            raise httpx.ReadError(str(exc) or type(exc).__name__, request=request) from exc
        except TimeoutError as exc:
            raise httpx.ReadTimeout("timed out", request=request) from exc

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
