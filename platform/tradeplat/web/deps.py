"""``Annotated`` dependency aliases every router uses."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from tradeplat.db import Database
from tradeplat.web.runtime import Runtime


def get_runtime(request: Request) -> Runtime:
    return request.app.state.runtime  # type: ignore[no-any-return]


def get_db(request: Request) -> Database:
    return request.app.state.runtime.db  # type: ignore[no-any-return]


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
DbDep = Annotated[Database, Depends(get_db)]
