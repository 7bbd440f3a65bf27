"""The in-cluster ingestion webhook: authenticate, parse with the shared strategies, spool durably, then answer.

A 2xx means the alerts are on disk; the forwarder delivers them to the API afterwards. Bad payloads get 400 with the
reason (nothing spooled); a full or unwritable spool gets 503 with Retry-After (Alertmanager retries 5xx only).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from prometheus_client import generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from signalcraft.api import SignalCraftClient
from signalcraft.ingest.errors import IngestError
from signalcraft.ingest.forwarder import Forwarder
from signalcraft.ingest.metrics import WebhookMetrics
from signalcraft.ingest.sources.base import InboundRequest, IntegrationCredentials
from signalcraft.ingest.sources.registry import ALERT_SOURCE_NAMES, UnknownSourceError, get_strategy
from signalcraft.ingest.spool import Spool, SpoolFullError, SpoolUnavailableError

MAX_BODY_BYTES = 1024 * 1024


@dataclass
class WebhookConfig:
    integration: str
    credentials: IntegrationCredentials
    cluster_name: str = ""
    sources: tuple[str, ...] = ALERT_SOURCE_NAMES
    forward: bool = True
    extra_labels: dict[str, str] = field(default_factory=dict)


def _problem(status: int, code: str, detail: str, headers: dict[str, str] | None = None) -> JSONResponse:
    body = {
        "type": f"https://signalcraft.io/problems/{code}",
        "title": code,
        "status": status,
        "detail": detail,
        "code": code,
    }
    return JSONResponse(body, status_code=status, headers=headers, media_type="application/problem+json")


def create_webhook_app(config: WebhookConfig, spool: Spool, api: SignalCraftClient | None) -> Starlette:
    metrics = WebhookMetrics()
    forwarder = Forwarder(spool, api, metrics) if api is not None and config.forward else None
    tasks: list[asyncio.Task[None]] = []

    async def receive(request: Request) -> Response:
        source = request.path_params.get("source", "alertmanager")
        if source not in config.sources:
            metrics.rejected.labels("unknown-source").inc()
            return _problem(404, "unknown-source", f"this webhook does not take {source!r}")
        body = await request.body()
        if len(body) > MAX_BODY_BYTES:
            metrics.rejected.labels("too-large").inc()
            return _problem(413, "payload-too-large", f"bodies are limited to {MAX_BODY_BYTES} bytes")
        inbound = InboundRequest({k.lower(): v for k, v in request.headers.items()}, body, dict(request.query_params))
        try:
            strategy = get_strategy(source)
            await asyncio.to_thread(strategy.authenticate, inbound, config.credentials)
            events = strategy.parse(inbound, config.integration)
        except UnknownSourceError as exc:
            return _problem(404, "unknown-source", str(exc))
        except IngestError as exc:
            metrics.rejected.labels("unauthenticated" if exc.status_code in (401, 403) else "invalid-payload").inc()
            code = "unauthenticated" if exc.status_code == 401 else "invalid-payload"
            return _problem(exc.status_code, code, exc.reason)
        if not events:
            return JSONResponse({"accepted": 0}, status_code=202)
        context = {**config.extra_labels, **({"k8s_cluster": config.cluster_name} if config.cluster_name else {})}
        enriched = [e.model_copy(update={"labels": {**context, **e.labels}}) for e in events] if context else events
        payload = json.dumps({"events": [e.model_dump(mode="json") for e in enriched]}).encode()
        try:
            key = await spool.append(payload)
        except SpoolFullError as exc:
            metrics.rejected.labels("spool-full").inc()
            return _problem(503, "spool-full", str(exc), {"Retry-After": "10"})
        except SpoolUnavailableError as exc:
            metrics.rejected.labels("spool-unavailable").inc()
            return _problem(503, "spool-unavailable", str(exc), {"Retry-After": "10"})
        metrics.received.labels(source).inc()
        metrics.spool_depth.set(spool.depth)
        return JSONResponse({"accepted": len(events), "spool_key": key}, status_code=202)

    async def healthz(_: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(_: Request) -> Response:
        if forwarder is not None and not forwarder.alive:
            return _problem(503, "forwarder-stopped", "the forwarder task has stopped")
        if spool.depth >= spool.capacity:
            return _problem(503, "spool-full", "the spool is full")
        return JSONResponse({"status": "ready", "spool_depth": spool.depth})

    async def metrics_endpoint(_: Request) -> Response:
        metrics.spool_depth.set(spool.depth)
        metrics.oldest_age.set(await spool.oldest_age())
        return Response(generate_latest(metrics.registry), media_type="text/plain")

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        await spool.open()
        if forwarder is not None:
            tasks.append(asyncio.create_task(forwarder.run(), name="forwarder"))
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await spool.close()
            if api is not None:
                await api.aclose()

    return Starlette(
        routes=[
            Route("/api/v1/webhooks/{source}", receive, methods=["POST"]),
            Route("/alertmanager", receive, methods=["POST"]),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/metrics", metrics_endpoint),
        ],
        lifespan=lifespan,
    )
