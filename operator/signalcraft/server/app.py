"""The API server's application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from prometheus_client import CollectorRegistry, Counter, generate_latest
from starlette.exceptions import HTTPException as StarletteHTTPException

from signalcraft.ingest.sources.cloudwatch import SnsSettings
from signalcraft.server import accounts, alerts, events, resources, webhooks
from signalcraft.server.atlassian import OAuthApp
from signalcraft.server.context import AppState, unknown_key_limiter
from signalcraft.server.middleware import ApiMiddleware
from signalcraft.server.problems import (
    Problem,
    ProblemDetails,
    handle_http,
    handle_invalid_text,
    handle_problem,
    handle_storage,
    handle_validation,
    problem_response,
    problem_responses,
)
from signalcraft.server.ratelimit import RateLimiter
from signalcraft.server.storage import InvalidText, StorageUnavailable, open_storage
from signalcraft.server.ticketing import TicketMetrics, TicketWorker
from signalcraft.server.ui import invites as ui_invites
from signalcraft.server.ui import pages as ui_pages
from signalcraft.server.ui.web import static_root, verify_vendored
from signalcraft.supervision import Supervisor

API_VERSION = "1.0.0"


def create_app(
    database: Path,
    *,
    database_url: str | None = None,
    public_url: str | None = None,
    rate_per_second: float = 200.0,
    burst: float = 400.0,
    events_per_second: float = 100.0,
    busy_timeout: float = 5.0,
    sns: SnsSettings | None = None,
    ticket_ca_bundle: str | None = None,
    stall_seconds: float = 120.0,
    unknown_keys_per_minute: float = 10.0,
    restart_backoff: tuple[float, float] = (0.5, 30.0),
    jira_oauth: OAuthApp | None = None,
) -> FastAPI:
    """`stall_seconds`: /healthz fails once a background task made no progress for this long; `restart_backoff`: the
    first and the longest wait before a background task that died is started again; `unknown_keys_per_minute`: events
    for routing keys that do not exist each client address may send."""
    db = open_storage(database, database_url=database_url, busy_timeout=busy_timeout)
    registry = CollectorRegistry()
    ticket_metrics = TicketMetrics(registry)
    restarts = Counter(
        "signalcraft_api_task_restarts", "Background tasks restarted after they died", ["task"], registry=registry
    )
    supervisor = Supervisor(
        stall_after=stall_seconds,
        first_backoff=restart_backoff[0],
        max_backoff=restart_backoff[1],
        on_restart=lambda name: restarts.labels(name).inc(),
    )
    supervisor.add(
        "ticket-worker", TicketWorker(db, ticket_metrics, ca_bundle=ticket_ca_bundle, jira_oauth=jira_oauth).run
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await db.open()
        await supervisor.start()
        try:
            yield
        finally:
            await supervisor.stop()
            await db.close()

    app = FastAPI(
        title="SignalCraft API",
        version=API_VERSION,
        lifespan=lifespan,
        description="SignalCraft API v1: service accounts, idempotent CRUD of configuration, alert ingestion.",
        # The server exports Prometheus metrics (/metrics) and no OpenTelemetry: FastAPI's own telemetry would only
        # look for an OpenTelemetry provider on every request.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.signalcraft = AppState(
        db=db,
        public_url=public_url,
        rate_limiter=RateLimiter(rate_per_second, burst),
        events_rate_limiter=RateLimiter(events_per_second, 2 * events_per_second, "per-routing-key"),
        sns=sns or SnsSettings(),
        unknown_key_limiter=unknown_key_limiter(unknown_keys_per_minute),
        jira_oauth=jira_oauth,
    )
    app.add_exception_handler(Problem, handle_problem)
    app.add_exception_handler(ui_pages.PageNotFound, ui_pages.not_found)
    app.add_exception_handler(RequestValidationError, handle_validation)
    app.add_exception_handler(StarletteHTTPException, handle_http)
    app.add_exception_handler(StorageUnavailable, handle_storage)
    app.add_exception_handler(InvalidText, handle_invalid_text)

    app.add_middleware(ApiMiddleware)

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(registry), media_type="text/plain; version=0.0.4")

    @app.get("/healthz", include_in_schema=False)
    async def healthz(request: Request) -> Response:
        """Liveness: every background task runs and makes progress (else Kubernetes restarts the process)."""
        problems = supervisor.problems()
        if problems:
            return problem_response(Problem(503, "not-alive", "; ".join(problems)), request)
        return JSONResponse({"status": "ok"})

    documented = problem_responses(400, 401, 403, 404, 409, 412, 422, 429, 503)
    for router in (accounts.router, alerts.router, *resources.routers, ui_invites.router):
        app.include_router(router, responses=documented)  # their routes authenticate (AuthenticatedRoute)
    app.include_router(events.router)
    app.include_router(webhooks.router, responses=problem_responses(503))
    verify_vendored()
    app.include_router(ui_pages.router)
    app.mount("/ui/static", StaticFiles(directory=static_root()), name="ui-static")

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
            schemas = document.setdefault("components", {}).setdefault("schemas", {})
            schemas["ProblemDetails"] = ProblemDetails.model_json_schema(ref_template="#/components/schemas/{model}")
            schemas.update(
                ProblemDetails.model_json_schema(ref_template="#/components/schemas/{model}").pop("$defs", {})
            )
            schemas["ProblemDetails"].pop("$defs", None)
            schemas.update(events.openapi_schemas())
            # Every body is read by one JSON parser first (see middleware): any operation with a body may answer 422.
            unsafe = {
                "description": "Unprocessable: e.g. unsafe-number (NaN, ±Infinity, an integer beyond ±(2^53-1))",
                "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/ProblemDetails"}}},
            }
            # ... and 400 invalid-unicode as problem+json, also where the operation's own 400s have another shape
            # (the PagerDuty path), except on the webhook paths, which repair such text instead.
            problem = {"schema": {"$ref": "#/components/schemas/ProblemDetails"}}
            for path, operations in document.get("paths", {}).items():
                for method, operation in operations.items():
                    if method in {"post", "put", "patch"}:
                        responses = operation.setdefault("responses", {})
                        responses.setdefault("422", unsafe)
                        if not path.startswith(("/api/v1/webhooks/", "/api/webhooks/")):
                            invalid = responses.setdefault("400", {"description": "Bad Request"})
                            invalid.setdefault("content", {}).setdefault("application/problem+json", problem)
            document["components"]["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer"}}
            document["security"] = [{"bearer": []}]
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app
