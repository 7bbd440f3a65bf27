"""The API server's application factory."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import Depends, FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from signalcraft.server import accounts, alerts, resources
from signalcraft.server.context import AppState, require_principal
from signalcraft.server.problems import Problem, handle_http, handle_problem, handle_unexpected, handle_validation
from signalcraft.server.ratelimit import RateLimiter
from signalcraft.server.storage import Database

API_VERSION = "1.0.0"


def create_app(
    database: Path, *, public_url: str | None = None, rate_per_second: float = 200.0, burst: float = 400.0
) -> FastAPI:
    db = Database(database)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await db.open()
        try:
            yield
        finally:
            await db.close()

    app = FastAPI(
        title="SignalCraft API",
        version=API_VERSION,
        lifespan=lifespan,
        description="SignalCraft API v1: service accounts, idempotent CRUD of configuration, alert ingestion.",
    )
    app.state.signalcraft = AppState(db=db, public_url=public_url, rate_limiter=RateLimiter(rate_per_second, burst))
    app.add_exception_handler(Problem, handle_problem)
    app.add_exception_handler(RequestValidationError, handle_validation)
    app.add_exception_handler(StarletteHTTPException, handle_http)
    app.add_exception_handler(Exception, handle_unexpected)

    @app.middleware("http")
    async def request_id(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        incoming = request.headers.get("x-request-id", "")
        identifier = incoming if 0 < len(incoming) <= 128 and incoming.isprintable() else uuid.uuid4().hex
        response = await call_next(request)
        response.headers["X-Request-Id"] = identifier
        for name, value in getattr(request.state, "rate_limit_headers", {}).items():
            response.headers.setdefault(name, value)
        return response

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    authenticated = [Depends(require_principal)]
    app.include_router(accounts.router, dependencies=authenticated)
    app.include_router(alerts.router, dependencies=authenticated)
    app.include_router(resources.router, dependencies=authenticated)
    app.include_router(alerts.public_router)
    return app
