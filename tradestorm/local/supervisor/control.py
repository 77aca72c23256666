"""The supervisor's control API (docs/contracts.md §3).

``GET /status``; ``POST /services/{service}/kill`` ``{"count": 1, "signal":
"SIGKILL"}`` → ``{"killed": [{"name", "pid"}]}``; ``POST /database/stop``
``{"mode": "fast", "duration_s": 30}`` (with ``duration_s`` the database starts
again by itself once it has passed), ``POST /database/start``; ``GET /metrics``;
``POST /shutdown``. Client mistakes are 4xx naming the field.
"""

from __future__ import annotations

import asyncio
import json
import signal
from typing import TYPE_CHECKING, Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from tradestorm.errors import TradestormError
from tradestorm.local.supervisor.metrics import registry_for

if TYPE_CHECKING:
    from tradestorm.local.supervisor.daemon import Supervisor

# signals that end a process (a replica "crash"); SIGSTOP and friends are not offered
KILL_SIGNALS = ("SIGKILL", "SIGTERM", "SIGINT", "SIGQUIT", "SIGABRT", "SIGHUP")
STOP_MODES = ("smart", "fast", "immediate")


def _error(status: int, message: str, field: str | None = None) -> web.Response:
    body: dict[str, Any] = {"error": message}
    if field is not None:
        body["field"] = field
    return web.json_response(body, status=status)


async def _body(request: web.Request) -> dict[str, Any] | web.Response:
    if not request.can_read_body:
        return {}
    raw = await request.read()
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        return _error(400, f"body is not valid JSON: {exc}")
    if not isinstance(body, dict):
        return _error(422, "body must be a JSON object", "(body)")
    return body


def make_app(sup: Supervisor) -> web.Application:
    app = web.Application()
    parts = sup.parts
    registry = registry_for(parts)

    async def status(_request: web.Request) -> web.Response:
        return web.json_response(parts.status_view())

    async def kill(request: web.Request) -> web.Response:
        service = request.match_info["service"]
        if service not in parts.replicas:
            return _error(404, f"unknown service {service!r} (known: {', '.join(parts.replicas)})")
        body = await _body(request)
        if isinstance(body, web.Response):
            return body
        count = body.get("count", 1)
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            return _error(422, f"count must be an integer >= 1, got {count!r}", "count")
        sig_name = body.get("signal", "SIGKILL")
        if not isinstance(sig_name, str):
            return _error(422, "signal must be a string", "signal")
        sig_name = sig_name.upper()
        if not sig_name.startswith("SIG"):
            sig_name = "SIG" + sig_name
        if sig_name not in KILL_SIGNALS:
            return _error(422, f"signal must be one of {', '.join(KILL_SIGNALS)}", "signal")
        names = body.get("replicas")
        if names is not None and (not isinstance(names, list)
                                  or not all(isinstance(n, str) for n in names)):
            return _error(422, "replicas must be a list of replica names", "replicas")
        killed = sup.kill_replicas(service, count, signal.Signals[sig_name], names)
        return web.json_response({"killed": killed})

    async def db_stop(request: web.Request) -> web.Response:
        body = await _body(request)
        if isinstance(body, web.Response):
            return body
        mode = body.get("mode", "fast")
        if mode not in STOP_MODES:
            return _error(422, f"mode must be one of {', '.join(STOP_MODES)}", "mode")
        duration = body.get("duration_s")
        if duration is not None and (isinstance(duration, bool)
                                     or not isinstance(duration, int | float)
                                     or not 0 < duration <= 86400):
            return _error(422, f"duration_s must be a number of seconds in (0, 86400], "
                          f"got {duration!r}", "duration_s")
        try:
            return web.json_response({"database": await sup.stop_database(
                mode, float(duration) if duration is not None else None)})
        except TradestormError as exc:
            return _error(500, str(exc))

    async def db_start(_request: web.Request) -> web.Response:
        try:
            return web.json_response({"database": await sup.start_database()})
        except TradestormError as exc:
            return _error(500, str(exc))

    async def metrics(_request: web.Request) -> web.Response:
        resp = web.Response(body=generate_latest(registry))
        resp.headers["Content-Type"] = CONTENT_TYPE_LATEST
        return resp

    async def shutdown(_request: web.Request) -> web.Response:
        asyncio.get_running_loop().call_soon(sup.stopping.set)
        return web.json_response({"stopping": True}, status=202)

    async def healthz(_request: web.Request) -> web.Response:
        return web.json_response({"ok": True, "phase": parts.phase})

    app.router.add_get("/healthz", healthz)
    app.router.add_get("/status", status)
    app.router.add_post("/services/{service}/kill", kill)
    app.router.add_post("/database/stop", db_stop)
    app.router.add_post("/database/start", db_start)
    app.router.add_get("/metrics", metrics)
    app.router.add_post("/shutdown", shutdown)
    return app
