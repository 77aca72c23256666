"""``create_app``: the FastAPI app of one service, with everything they share."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager

import httpx
from fastapi import APIRouter, Depends, FastAPI

from tradeplat import __version__
from tradeplat.config import Settings
from tradeplat.web.handlers import install_handlers
from tradeplat.web.middleware import (
    BodySizeLimitMiddleware,
    ConcurrencyLimitMiddleware,
    DeadlineMiddleware,
    RequestContextMiddleware,
    refuse_shed_or_past_deadline,
)
from tradeplat.web.openapi import install_openapi
from tradeplat.web.probes import router as probes_router
from tradeplat.web.runtime import BackgroundTask, build_runtime


def create_app(
    service: str,
    settings: Settings,
    *,
    routers: Sequence[APIRouter],
    dependencies: tuple[str, ...] = (),
    background: Sequence[tuple[str, BackgroundTask]] = (),
    transports: Mapping[str, httpx.AsyncBaseTransport] | None = None,
    title: str | None = None,
    public: bool = False,
) -> FastAPI:
    runtime = build_runtime(service, settings, dependencies=dependencies, transports=transports)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await runtime.start(list(background))
        try:
            yield
        finally:
            await runtime.stop()

    app = FastAPI(
        title=title or f"tradeplat {service}",
        version=__version__,
        lifespan=lifespan,
        openapi_url="/openapi.json" if public else "/internal/openapi.json",
        docs_url="/docs" if public else None,
        redoc_url=None,
        dependencies=[Depends(refuse_shed_or_past_deadline)],
        # No OpenTelemetry here (metrics are Prometheus, ``observability/``): off, so
        # FastAPI does not look for a configured provider on every request.
        telemetry={"tracing": False, "metrics": False, "logs": False,
                   "operation_spans": False},
    )
    app.state.runtime = runtime
    install_handlers(app)
    install_openapi(app)
    app.include_router(probes_router)
    for router in routers:
        app.include_router(router)
    # Added innermost first: the context middleware sees every answer, shed 503s
    # and 413s included.
    app.add_middleware(DeadlineMiddleware)
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(ConcurrencyLimitMiddleware, max_in_flight=settings.max_concurrency)
    app.add_middleware(RequestContextMiddleware, metrics=runtime.metrics)
    return app
