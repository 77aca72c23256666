"""Exception handlers: every error becomes a JSON answer naming what was wrong.

Client mistakes are 4xx with the offending field; only a genuine bug reaches
the catch-all, which logs it with the request id and answers a bare 500.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from tradeplat.errors import TradeplatError
from tradeplat.observability import request_id

log = logging.getLogger("tradeplat.errors")


def _field(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc]
    # "body" alone means the whole body; otherwise drop the "body"/"query" prefix.
    if len(parts) > 1 and parts[0] in {"body", "query", "path", "header"}:
        parts = parts[1:]
    return ".".join(parts)


def validation_body(errors: list[dict[str, Any]]) -> dict[str, Any]:
    clean = [
        {"field": _field(e.get("loc", ())), "message": str(e.get("msg", "")),
         "type": str(e.get("type", ""))}
        for e in errors
    ]
    first = clean[0] if clean else {"field": "body", "message": "invalid request"}
    return {
        "error": "validation_error",
        "detail": f"{first['field']}: {first['message']}",
        "field": first["field"],
        "errors": clean,
    }


async def _tradeplat_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, TradeplatError)
    if exc.status_code >= 500:
        log.warning("answered %s: %s", exc.status_code, exc.message)
    return JSONResponse(exc.to_body(), status_code=exc.status_code, headers=exc.headers())


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return JSONResponse(validation_body(list(exc.errors())), status_code=422)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 400 and "parsing the body" in str(exc.detail):
        # An undecodable body (e.g. invalid UTF-8): the same class of mistake as
        # invalid JSON, which FastAPI answers 422 — answer it the same way.
        return JSONResponse(
            {"error": "validation_error", "detail": "body: not decodable as JSON",
             "field": "body"},
            status_code=422,
        )
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    headers = dict(getattr(exc, "headers", None) or {})
    if exc.status_code == 405:
        # Starlette names the methods of the first route on the path only
        headers["Allow"] = ", ".join(_allowed_methods(request))
    return JSONResponse(
        {"error": code, "detail": str(exc.detail)},
        status_code=exc.status_code,
        headers=headers or None,
    )


def _allowed_methods(request: Request) -> list[str]:
    """Every method some route of the app serves on the request's path."""
    allowed: set[str] = set()
    for route in request.app.router.routes:
        methods = getattr(route, "methods", None)
        if methods and route.matches(request.scope)[0] != Match.NONE:
            allowed.update(methods)
    return sorted(allowed)


async def _unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    # A fallback only: RequestContextMiddleware answers a bug first (with the
    # request id); this runs for an error raised outside it.
    log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return JSONResponse(
        {"error": "internal_error", "detail": "an unexpected error occurred",
         "request_id": request_id.current()},
        status_code=500,
    )


def install_handlers(app: FastAPI) -> None:
    app.add_exception_handler(TradeplatError, _tradeplat_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected_error)
