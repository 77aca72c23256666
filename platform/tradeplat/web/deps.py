"""``Annotated`` dependency aliases every router uses."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request

from tradeplat.web.runtime import Runtime


async def get_runtime(request: Request) -> Runtime:
    return request.app.state.runtime  # type: ignore[no-any-return]


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


async def get_internal_account(
    x_account_id: Annotated[
        str,
        Header(
            description="the authenticated account (set by the gateway; internal services only)",
            min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_\-]+$",
        ),
    ],
) -> str:
    return x_account_id


#: The account a gateway call is made for (internal services trust the gateway).
AccountDep = Annotated[str, Depends(get_internal_account)]
