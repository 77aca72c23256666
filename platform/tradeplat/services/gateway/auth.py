"""API-key authentication: SHA-256 of the key looked up in ``accounts``.

Answers are cached briefly per key hash (hits for ``AUTH_CACHE_TTL_S``, misses
for a second, so a flood of bad keys cannot hammer the database). A rotated
key therefore keeps working for at most ``AUTH_CACHE_TTL_S``.
"""

from __future__ import annotations

import hmac
import time
from typing import Annotated

from fastapi import Depends, Header

from tradeplat.accounts import hash_api_key
from tradeplat.errors import Forbidden, Unauthorized
from tradeplat.web.deps import RuntimeDep
from tradeplat.web.runtime import Runtime

AUTH_CACHE_TTL_S = 30.0
NEGATIVE_TTL_S = 1.0
MAX_CACHED_KEYS = 50_000


async def account_for_key(rt: Runtime, api_key: str) -> str | None:
    digest = hash_api_key(api_key)
    cache: dict[bytes, tuple[float, str | None]] = rt.state.setdefault("auth_cache", {})
    now = time.monotonic()
    hit = cache.get(digest)
    if hit is not None:
        expires, account_id = hit
        if now < expires:
            return account_id
    account_id = await rt.db.fetchval(
        "SELECT account_id FROM accounts WHERE api_key_sha256 = $1", digest
    )
    if len(cache) >= MAX_CACHED_KEYS:
        cache.clear()
    cache[digest] = (now + (AUTH_CACHE_TTL_S if account_id else NEGATIVE_TTL_S), account_id)
    return account_id  # type: ignore[no-any-return]


async def authenticate(
    rt: RuntimeDep,
    x_api_key: Annotated[str | None, Header(description="the account's API key")] = None,
) -> str:
    if not x_api_key:
        raise Unauthorized("missing X-API-Key header", field="X-API-Key")
    if len(x_api_key) > 256:
        raise Unauthorized("unknown API key", field="X-API-Key")
    account_id = await account_for_key(rt, x_api_key)
    if account_id is None:
        raise Unauthorized("unknown API key", field="X-API-Key")
    return account_id


async def require_admin(
    rt: RuntimeDep,
    x_admin_key: Annotated[str | None, Header(description="TRADEPLAT_ADMIN_KEY")] = None,
) -> None:
    expected = rt.settings.admin_key
    if not expected:
        raise Forbidden("admin routes are disabled (TRADEPLAT_ADMIN_KEY is not set)")
    if not x_admin_key:
        raise Unauthorized("missing X-Admin-Key header", field="X-Admin-Key")
    if not hmac.compare_digest(x_admin_key.encode(), expected.encode()):
        raise Unauthorized("wrong admin key", field="X-Admin-Key")


#: The authenticated account of a public call.
AccountIdDep = Annotated[str, Depends(authenticate)]
AdminDep = Annotated[None, Depends(require_admin)]
