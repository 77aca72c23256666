"""The HTTP control API of one proxy (docs/contracts.md §3).

``GET /healthz``, ``GET /backends``, ``PUT /backends/{name}`` (``{"port"}``: the
supervisor moved a replica), ``GET /faults``, ``POST /faults`` (201),
``DELETE /faults/{id}``, ``DELETE /faults``, ``GET /metrics``. A malformed
fault is a 422 naming the field; a body that is not JSON is a 400.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST

from tradestorm.local.proxy.faults import Fault, FaultSpecError
from tradestorm.local.proxy.metrics import registry_for, render
from tradestorm.local.proxy.service import ServiceProxy

PROXY_KEY: web.AppKey[ServiceProxy] = web.AppKey("proxy", ServiceProxy)


def _error(status: int, message: str, field: str | None = None) -> web.Response:
    body: dict[str, Any] = {"error": message}
    if field is not None:
        body["field"] = field
    return web.json_response(body, status=status)


async def healthz(request: web.Request) -> web.Response:
    proxy = request.app[PROXY_KEY]
    return web.json_response({"ok": True, "service": proxy.name, "listen": proxy.listen,
                              "listening": proxy.listening})


async def backends(request: web.Request) -> web.Response:
    return web.json_response(request.app[PROXY_KEY].backends_view())


async def list_faults(request: web.Request) -> web.Response:
    return web.json_response({"faults": request.app[PROXY_KEY].faults_view()})


async def add_fault(request: web.Request) -> web.Response:
    proxy = request.app[PROXY_KEY]
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        return _error(400, f"body is not valid JSON: {exc}")
    try:
        fault = Fault.from_request(body)
    except FaultSpecError as exc:
        return _error(422, str(exc), exc.field)
    proxy.add_fault(fault)
    await proxy.settle()
    return web.json_response(fault.to_dict(), status=201)


async def delete_fault(request: web.Request) -> web.Response:
    proxy = request.app[PROXY_KEY]
    fault = proxy.remove_fault(request.match_info["fault_id"])
    if fault is None:
        return _error(404, f"no active fault {request.match_info['fault_id']!r}")
    await proxy.settle()
    return web.json_response(fault.to_dict())


async def delete_faults(request: web.Request) -> web.Response:
    proxy = request.app[PROXY_KEY]
    removed = proxy.clear_faults()
    await proxy.settle()
    return web.json_response({"removed": [f.to_dict() for f in removed]})


async def move_backend(request: web.Request) -> web.Response:
    """``PUT /backends/{name}`` ``{"port": P}``: a backend moved to another port."""
    proxy = request.app[PROXY_KEY]
    name = request.match_info["name"]
    backend = next((b for b in proxy.pool.backends if b.name == name), None)
    if backend is None:
        return _error(404, f"no backend {name!r}")
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        return _error(400, f"body is not valid JSON: {exc}")
    port = body.get("port") if isinstance(body, dict) else None
    if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
        return _error(422, f"port must be a TCP port number, got {port!r}", "port")
    backend.port = port
    backend.alive, backend.ready, backend.last_error = True, False, ""
    return web.json_response(backend.to_dict())


def make_app(proxy: ServiceProxy) -> web.Application:
    app = web.Application()
    app[PROXY_KEY] = proxy
    registry = registry_for(proxy)

    async def metrics(_request: web.Request) -> web.Response:
        resp = web.Response(body=render(registry))
        resp.headers["Content-Type"] = CONTENT_TYPE_LATEST
        return resp

    app.router.add_get("/healthz", healthz)
    app.router.add_get("/backends", backends)
    app.router.add_put("/backends/{name}", move_backend)
    app.router.add_get("/faults", list_faults)
    app.router.add_post("/faults", add_fault)
    app.router.add_delete("/faults", delete_faults)
    app.router.add_delete("/faults/{fault_id}", delete_fault)
    app.router.add_get("/metrics", metrics)
    return app
