"""API-key authentication: SHA-256 of the key looked up in ``accounts``.

Answers are cached briefly per key hash (hits for ``AUTH_CACHE_TTL_S``, misses
for a second, so a flood of bad keys cannot hammer the database, and keys keep
working for a while when the database is briefly out). A key that is rotated
or revoked (``accounts.rotate_api_key`` / ``revoke_api_key``: the admin API or
``tradeplat seed``) stops working:

* at once on the gateway replica that served the change (it forgets the
  account's cached answers before answering);
* on every other replica as soon as PostgreSQL delivers the change's
  notification (``API_KEY_CHANNEL``, milliseconds after the commit), which
  ``watch_api_key_changes`` listens for on a connection of its own;
* while a replica's watcher is disconnected (it pings every ``notifications.PING_S``
  and reconnects), within ``AUTH_CACHE_TTL_S`` at most, and at the latest
  when it listens again: it then forgets every cached answer.
"""

from __future__ import annotations

import hmac
import time
from typing import Annotated

from fastapi import Depends, Header

from tradeplat.accounts import API_KEY_CHANNEL, hash_api_key
from tradeplat.errors import Forbidden, Unauthorized
from tradeplat.notifications import listen_forever
from tradeplat.web.deps import RuntimeDep
from tradeplat.web.runtime import Runtime

AUTH_CACHE_TTL_S = 30.0
NEGATIVE_TTL_S = 1.0
MAX_CACHED_KEYS = 50_000

_Cache = dict[bytes, tuple[float, str | None]]


def _cache(rt: Runtime) -> _Cache:
    return rt.state.setdefault("auth_cache", {})  # type: ignore[no-any-return]


def _generation(rt: Runtime) -> int:
    return rt.state.get("auth_cache_generation", 0)  # type: ignore[no-any-return]


def _invalidate(rt: Runtime, account_id: str | None = None) -> None:
    """Forget ``account_id``'s cached answers (every answer when None). A lookup
    that read the database before this does not cache what it read."""
    rt.state["auth_cache_generation"] = _generation(rt) + 1
    cache = _cache(rt)
    if account_id is None:
        cache.clear()
        return
    for digest in [d for d, (_, acct) in cache.items() if acct == account_id]:
        cache.pop(digest, None)


def forget_account(rt: Runtime, account_id: str) -> None:
    """Drop this replica's cached answers for ``account_id`` (its key changed)."""
    _invalidate(rt, account_id)


async def watch_api_key_changes(rt: Runtime) -> None:
    """Background task of the gateway: forget an account's cached answers when
    its key changes anywhere (PostgreSQL ``LISTEN``)."""
    await listen_forever(rt, API_KEY_CHANNEL, lambda account_id: forget_account(rt, account_id),
                         lambda: _invalidate(rt), what="api key watcher")


async def account_for_key(rt: Runtime, api_key: str) -> str | None:
    digest = hash_api_key(api_key)
    cache = _cache(rt)
    now = time.monotonic()
    hit = cache.get(digest)
    if hit is not None:
        expires, account_id = hit
        if now < expires:
            return account_id
    generation = _generation(rt)
    account_id = await rt.db.fetchval(
        "SELECT account_id FROM accounts WHERE api_key_sha256 = $1", digest
    )
    if generation != _generation(rt):  # a key changed meanwhile: the answer may be stale
        return account_id  # type: ignore[no-any-return]
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
