"""The in-cluster ingestion webhook: authenticate, parse with the shared strategies, spool durably, then answer.

A 2xx means the alerts are on disk; the forwarder delivers them to the API afterwards. Bad payloads get 400 with the
reason (nothing spooled); a full or unwritable spool gets 503 with Retry-After — never 429, because Alertmanager
retries only 5xx.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from prometheus_client import generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from signalcraft.api import SignalCraftClient
from signalcraft.api.limits import MAX_WEBHOOK_BYTES
from signalcraft.ingest import pipeline
from signalcraft.ingest.config import Integration
from signalcraft.ingest.errors import IngestError, PayloadTooLargeError, RetryLaterError
from signalcraft.ingest.forwarder import Forwarder
from signalcraft.ingest.metrics import WebhookMetrics
from signalcraft.ingest.pipeline import Receiver
from signalcraft.ingest.sources.base import InboundRequest
from signalcraft.ingest.sources.cloudwatch import SnsSettings
from signalcraft.ingest.sources.registry import get_strategy
from signalcraft.ingest.spool import Spool, SpoolFullError, SpoolUnavailableError
from signalcraft.supervision import Supervisor

ALERTMANAGER_PATH = "/alertmanager"


@dataclass
class WebhookConfig:
    integrations: Sequence[Integration]
    cluster_name: str = ""
    extra_labels: dict[str, str] = field(default_factory=dict)
    sns: SnsSettings = field(default_factory=SnsSettings)
    max_body_bytes: int = MAX_WEBHOOK_BYTES
    retry_after_seconds: int = 10
    stall_after_seconds: float = 120.0
    """Liveness fails when the forwarder made no progress for this long while entries are due."""
    restart_backoff: tuple[float, float] = (0.5, 30.0)
    """First and longest wait before a crashed background task is restarted."""


def _problem(status: int, code: str, detail: str, headers: dict[str, str] | None = None) -> JSONResponse:
    body = {"type": f"https://signalcraft.io/problems/{code}", "title": code, "status": status, "detail": detail}
    return JSONResponse(
        {**body, "code": code}, status_code=status, headers=headers, media_type="application/problem+json"
    )


def _accepted_response(count: int) -> Response:
    return Response(b'{"accepted":%d}' % count, status_code=202, media_type="application/json")


async def _body(request: Request, limit: int) -> bytes:
    """The request body, refused as soon as it exceeds `limit` (never buffered beyond it)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise PayloadTooLargeError(f"bodies are limited to {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLargeError(f"bodies are limited to {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def create_webhook_app(
    config: WebhookConfig, spool: Spool, connect: Callable[[], SignalCraftClient] | None
) -> Starlette:
    """`connect` builds the API client the forwarder delivers with; None runs without forwarding (spool only)."""
    metrics = WebhookMetrics()
    forwarder = Forwarder(spool, connect, metrics) if connect is not None else None
    supervisor = Supervisor(
        stall_after=config.stall_after_seconds,
        first_backoff=config.restart_backoff[0],
        max_backoff=config.restart_backoff[1],
        on_restart=lambda name: metrics.task_restarts.labels(name).inc(),
    )
    if forwarder is not None:
        supervisor.add("forwarder", forwarder.run, work_due=lambda: spool.depth > 0)
    receivers: dict[str, list[Receiver]] = {}
    for integration in config.integrations:
        for source in integration.sources:
            strategy = get_strategy(source, integration.settings, sns=config.sns)
            receivers.setdefault(source, []).append(Receiver(integration.name, strategy, integration.credentials))
    context = {**config.extra_labels, **({"k8s_cluster": config.cluster_name} if config.cluster_name else {})}
    counters = {
        source: (metrics.received.labels(source), metrics.received_alerts.labels(source)) for source in receivers
    }
    retry_after = {"Retry-After": str(config.retry_after_seconds)}

    async def accept(request: Request, source: str) -> Response:
        candidates = receivers.get(source)
        if not candidates:
            metrics.rejected.labels("unknown-source").inc()
            return _problem(404, "unknown-source", f"this webhook takes no {source!r} alerts")
        try:
            body = await _body(request, config.max_body_bytes)
            inbound = InboundRequest(
                {name.lower(): value for name, value in request.headers.items()}, body, dict(request.query_params)
            )
            accepted = await pipeline.run(candidates, inbound, context=context)
        except RetryLaterError as exc:
            metrics.rejected.labels(exc.code).inc()
            return _problem(exc.status_code, exc.code, exc.reason, {"Retry-After": str(exc.retry_after)})
        except IngestError as exc:
            metrics.rejected.labels(exc.code).inc()
            return _problem(exc.status_code, exc.code, exc.reason)
        if not accepted.batches:
            return _accepted_response(0)
        try:
            await spool.append(accepted.batches)
        except SpoolFullError as exc:
            metrics.rejected.labels("spool-full").inc()
            return _problem(503, "spool-full", str(exc), retry_after)
        except SpoolUnavailableError as exc:
            metrics.rejected.labels("spool-unavailable").inc()
            return _problem(503, "spool-unavailable", str(exc), retry_after)
        received, received_alerts = counters[source]
        received.inc()
        received_alerts.inc(len(accepted.events))
        return _accepted_response(len(accepted.events))

    async def receive(request: Request) -> Response:
        return await accept(request, request.path_params["source"])

    async def receive_alertmanager(request: Request) -> Response:
        return await accept(request, "alertmanager")

    async def healthz(_: Request) -> Response:
        """Liveness: every background task runs and none is stuck while work is due (else Kubernetes restarts us)."""
        problems = supervisor.problems()
        if not spool.writable:
            problems.append("spool-writer: not running")
        if problems:
            return _problem(503, "not-alive", "; ".join(problems))
        return JSONResponse({"status": "ok"})

    async def readyz(_: Request) -> Response:
        if not spool.writable:
            return _problem(503, "spool-unavailable", "the spool is not open", retry_after)
        if spool.full:
            return _problem(503, "spool-full", "the spool is full", retry_after)
        if supervisor.problems():
            return _problem(503, "not-alive", "; ".join(supervisor.problems()))
        return JSONResponse({"status": "ready", "spool_depth": spool.depth})

    async def metrics_endpoint(_: Request) -> Response:
        metrics.spool_depth.set(spool.depth)
        metrics.spool_bytes.set(spool.bytes)
        metrics.dead_letters.set(spool.dead_letter_count)
        metrics.oldest_age.set(await spool.oldest_age())
        metrics.spool_transactions.set(spool.commits)
        return Response(generate_latest(metrics.registry), media_type="text/plain; version=0.0.4")

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        await spool.open()
        if forwarder is not None:
            forwarder.prepare()
        await supervisor.start()
        try:
            yield
        finally:
            await supervisor.stop()
            await spool.close()

    return Starlette(
        routes=[
            Route("/api/v1/webhooks/{source}", receive, methods=["POST"]),
            Route(ALERTMANAGER_PATH, receive_alertmanager, methods=["POST"]),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/metrics", metrics_endpoint),
        ],
        lifespan=lifespan,
    )
