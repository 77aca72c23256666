"""Forward a public call to an internal service and relay its answer.

The body of the internal answer is relayed as is (it is already the public
shape). 4xx answers and 503 pass through; any other 5xx becomes 502, so a
client can tell "the platform is overloaded or degraded, retry" (503) from
"an internal service misbehaved" (502).
"""

from __future__ import annotations

from typing import Any

from fastapi import Response

from tradeplat.errors import InvalidInput, UpstreamError
from tradeplat.web.clients import ServiceClient

_RELAYED_HEADERS = ("content-type", "retry-after", "idempotent-replayed")


async def forward(
    client: ServiceClient,
    method: str,
    path: str,
    *,
    account_id: str | None = None,
    json: Any = None,
    content: bytes | None = None,
    params: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
    timeout_s: float | None = None,
    safe_on_connect: bool = False,
) -> Response:
    sent = dict(headers or {})
    for name, value in sent.items():
        # A client's header value goes on the wire of the internal call: one
        # that is not ASCII cannot, so it is the client's mistake, not a 500.
        if not value.isascii():
            raise InvalidInput(f"{name}: must be printable ASCII", field=name)
    if account_id is not None:
        sent["X-Account-ID"] = account_id
    upstream = await client.request(
        method, path, json=json, content=content,
        params={k: v for k, v in (params or {}).items() if v is not None}, headers=sent,
        timeout_s=timeout_s, safe_on_connect=safe_on_connect,
    )
    if upstream.status_code >= 500 and upstream.status_code != 503:
        raise UpstreamError(
            f"{client.name} answered {upstream.status_code}", dependency=client.name
        )
    relayed = {k: v for k, v in upstream.headers.items() if k.lower() in _RELAYED_HEADERS}
    return Response(content=upstream.content, status_code=upstream.status_code, headers=relayed)
