"""The request id that follows a request across services (``X-Request-ID``)."""

from __future__ import annotations

import re
import uuid
from contextvars import ContextVar

HEADER = "X-Request-ID"
_VALID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")

_current: ContextVar[str | None] = ContextVar("tradeplat_request_id", default=None)


def current() -> str | None:
    """The id of the request being served, or None outside a request."""
    return _current.get()


def set_current(request_id: str | None) -> object:
    return _current.set(request_id)


def reset(token: object) -> None:
    _current.reset(token)  # type: ignore[arg-type]


def accept_or_generate(incoming: str | None) -> str:
    """Keep a well-formed incoming id (so it follows the request); else a new one."""
    if incoming and _VALID.match(incoming):
        return incoming
    return uuid.uuid4().hex
