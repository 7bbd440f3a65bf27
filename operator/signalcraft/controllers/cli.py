"""`signalcraft operator`: the kopf operator process."""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
import kopf
from aiohttp import web
from prometheus_client import generate_latest
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from signalcraft.api import SignalCraftClient
from signalcraft.controllers.common import GROUP
from signalcraft.controllers.dependencies import DependencyIndex
from signalcraft.controllers.drift import DriftLoop
from signalcraft.controllers.engine import Reconciler
from signalcraft.controllers.handlers import FINALIZER, Runtime, register
from signalcraft.controllers.kube import RESYNC_ANNOTATION, LightkubePort
from signalcraft.controllers.metrics import OperatorMetrics
from signalcraft.controllers.registry import KINDS

log = logging.getLogger("signalcraft.operator")


class OperatorConfig(BaseModel):
    model_config = ConfigDict(frozen=True)

    api_url: str = Field(min_length=1)
    api_key: SecretStr
    api_key_file: Path | None = None
    """Re-read when SignalCraft answers 401: a rotated key is used without a restart."""
    cluster_id: str | None = None
    namespaces: tuple[str, ...] = ()
    worker_limit: int = Field(default=20, ge=1, le=1000)
    """Objects reconciled at once, change handlers and drift checks together (see Runtime.gate)."""
    drift_interval: float = Field(default=300.0, ge=5.0)
    health_port: int = Field(default=8080, ge=0, le=65535)
    metrics_port: int = Field(default=8081, ge=0, le=65535)
    reporting_instance: str = "signalcraft-operator"
    watch_silence_limit: float = Field(default=300.0, gt=0)
    """A kind's watch silent this long is checked against a LIST by the liveness probe (see watches_alive)."""
    secret_watch: bool = True
    """Watch Secrets so a rotated credential re-syncs at once; off, rotations are found by the drift check."""


async def _serve_metrics(metrics: OperatorMetrics, port: int) -> web.AppRunner:
    async def handle(_: web.Request) -> web.Response:
        return web.Response(body=generate_latest(metrics.registry), content_type="text/plain")

    app = web.Application()
    app.router.add_get("/metrics", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "0.0.0.0", port).start()  # noqa: S104 - scraped from inside the cluster
    return runner


def _configure(settings: kopf.OperatorSettings, config: OperatorConfig) -> None:
    settings.persistence.finalizer = FINALIZER
    settings.persistence.progress_storage = _UnmarkedProgressStorage(prefix=GROUP, v1=False)
    settings.persistence.diffbase_storage = kopf.StatusDiffBaseStorage(field="status.handledConfiguration")
    # No kopf worker_limit: it is per kind, and an object sleeping before a retry holds its slot, so a few dozen
    # failing objects would starve every healthy object of their kind. The handlers and the drift check share one
    # bound instead (Runtime.gate), held only while an object is being reconciled.
    # A worker that lingers for the object's next event holds memory: with thousands of objects, let it go soon.
    settings.queueing.idle_timeout = 0.2
    settings.posting.reporting_component = "signalcraft-operator"
    settings.posting.reporting_instance = config.reporting_instance
    settings.posting.loggers = False
    settings.networking.enforce_retry_after = True
    settings.watching.server_timeout = 600
    settings.watching.client_timeout = 660
    settings.execution.default_backoff = 10
    # kopf gives up on a failing Kubernetes request after about a minute and then stops the whole operator when that
    # request was a watch (403 after an RBAC change, an API server away for longer). Keep retrying instead: the
    # liveness probe reports the dead watch, and the watch resumes by itself once the cause is gone.
    settings.networking.error_backoffs = _RetryForever()
    # The kinds are known up front: no CRD or namespace discovery, so RBAC needs no list/watch on either.
    settings.scanning.disabled = True


async def run_operator(config: OperatorConfig) -> None:
    metrics = OperatorMetrics()
    kube = LightkubePort.from_environment(instance=config.reporting_instance)
    cluster_id = config.cluster_id or await kube.namespace_uid("kube-system")
    api = SignalCraftClient(config.api_url, config.api_key.get_secret_value(), api_key_file=config.api_key_file)
    reconciler = Reconciler(api, kube, cluster_id=cluster_id, metrics=metrics)
    runtime = Runtime(
        reconciler=reconciler,
        drift_interval=config.drift_interval,
        last_event_at={},
        gate=asyncio.Semaphore(config.worker_limit),
        dependencies=DependencyIndex(RESYNC_ANNOTATION),
    )
    registry = kopf.OperatorRegistry()
    register(registry, runtime, secret_watch=config.secret_watch)

    @kopf.on.startup(registry=registry)
    def configure(settings: kopf.OperatorSettings, **_: Any) -> None:
        _configure(settings, config)

    @kopf.on.login(registry=registry)
    def login(**kwargs: Any) -> kopf.ConnectionInfo | None:
        return kopf.login_with_service_account(**kwargs) or kopf.login_with_kubeconfig(**kwargs)

    started = time.monotonic()

    @kopf.on.probe(registry=registry, id="watches")
    async def watches_alive(**_: Any) -> dict[str, float]:
        """Fail liveness when a kind's watch went silent while its objects kept changing (a dead watch)."""
        now = time.monotonic()
        ages: dict[str, float] = {}
        for kind in KINDS:
            last = runtime.last_event_at.get(kind.kind, started)
            ages[kind.kind] = round(now - last, 1)
            if now - last < config.watch_silence_limit:
                continue
            try:
                newest = await kube.newest_change(kind, config.namespaces)
            except Exception as exc:  # any failure to check means liveness cannot be vouched for
                # Permanent: kopf would otherwise retry the probe while /healthz waits, instead of answering 500.
                message = f"the {kind.kind} watch is silent and listing to check it failed: {type(exc).__name__}"
                raise kopf.PermanentError(message) from None
            if newest and _age_seconds(newest) < now - last:
                raise kopf.PermanentError(f"the {kind.kind} watch has seen nothing while objects changed")
        return ages

    log.info("cluster id %s; watching %s", cluster_id, ", ".join(config.namespaces) or "all namespaces")
    runner = await _serve_metrics(metrics, config.metrics_port) if config.metrics_port else None
    drift = DriftLoop(
        reconciler, kube, KINDS, namespaces=config.namespaces, interval=config.drift_interval, gate=runtime.gate
    )
    drifting = asyncio.create_task(drift.run(first_delay=min(2.0, config.drift_interval)), name="drift")
    try:
        await kopf.operator(
            registry=registry,
            standalone=True,
            clusterwide=not config.namespaces,
            namespaces=list(config.namespaces),
            liveness_endpoint=f"http://0.0.0.0:{config.health_port}/healthz" if config.health_port else None,
        )
    finally:
        drifting.cancel()
        await asyncio.gather(drifting, return_exceptions=True)
        if runner is not None:
            await runner.cleanup()
        await api.aclose()
        await kube.aclose()


class _UnmarkedProgressStorage(kopf.AnnotationsProgressStorage):
    """kopf's annotation progress storage without its `<prefix>/kopf-managed: yes` marker.

    kopf stores a handler's progress when it starts and purges it when it succeeds, so a first-time success leaves
    nothing behind but the marker, written once to every object: one PATCH (and one watch event) per object for a
    note that tells other kopf-based operators to ignore our annotations. No other operator handles these kinds; the
    progress annotations themselves exist only while a handler is being retried.
    """

    def _store_marker(self, prefix: str, patch: kopf.Patch, body: kopf.Body) -> None:
        return


class _RetryForever:
    """Backoffs of 1, 1, 2, 3, 5, 8, 13, 21 s, then 30 s for ever; not Sized, so kopf never escalates."""

    def __iter__(self) -> Iterator[float]:
        return itertools.chain((1.0, 1.0, 2.0, 3.0, 5.0, 8.0, 13.0, 21.0), itertools.repeat(30.0))


def _age_seconds(timestamp: str) -> float:
    return (datetime.now(UTC) - datetime.fromisoformat(timestamp.replace("Z", "+00:00"))).total_seconds()


@click.command("operator")
@click.option("--api-url", envvar="SIGNALCRAFT_API_URL", required=True, help="SignalCraft API base URL.")
@click.option("--api-key", envvar="SIGNALCRAFT_API_KEY", default=None, help="API key (prefer --api-key-file).")
@click.option(
    "--api-key-file",
    envvar="SIGNALCRAFT_API_KEY_FILE",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="File holding the API key, e.g. a mounted Secret.",
)
@click.option("--cluster-id", envvar="SIGNALCRAFT_CLUSTER_ID", default=None, help="Default: kube-system's UID.")
@click.option("--namespace", "namespaces", multiple=True, envvar="SIGNALCRAFT_NAMESPACES", help="Watch only these.")
@click.option("--worker-limit", type=int, default=20, show_default=True, help="Objects reconciled at once (all kinds).")
@click.option("--drift-interval", type=float, default=300.0, show_default=True, help="Seconds between drift checks.")
@click.option("--health-port", type=int, default=8080, show_default=True, help="Liveness endpoint port (0: off).")
@click.option("--metrics-port", type=int, default=8081, show_default=True, help="Prometheus metrics port (0: off).")
@click.option(
    "--watch-silence-limit",
    type=float,
    default=300.0,
    show_default=True,
    help="Seconds a watch may stay silent before liveness checks it against a LIST.",
)
@click.option(
    "--secret-watch/--no-secret-watch",
    default=True,
    show_default=True,
    help="Watch Secrets to re-sync at once on rotation (needs list/watch on Secrets); off: at the next drift check.",
)
@click.option("--verbose", is_flag=True, help="Log at debug level.")
def operator(  # noqa: PLR0917 - click passes every option positionally by name
    api_url: str,
    api_key: str | None,
    api_key_file: Path | None,
    cluster_id: str | None,
    namespaces: tuple[str, ...],
    worker_limit: int,
    drift_interval: float,
    health_port: int,
    metrics_port: int,
    watch_silence_limit: float,
    secret_watch: bool,
    verbose: bool,
) -> None:
    """Reconcile the SignalCraft resources (User, Team, Schedule, EscalationPolicy, AlertPolicy, RoutingRule,
    Integration) with the SignalCraft API."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    if not verbose:
        # Per-object success lines (every handler, every HTTP call) drown what matters and cost CPU at scale.
        for noisy in ("kopf.objects", "httpx", "httpx2", "httpcore", "aiohttp.access"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
    key = api_key_file.read_text().strip() if api_key_file is not None else api_key
    if not key:
        raise click.UsageError("an API key is needed: --api-key-file (or SIGNALCRAFT_API_KEY_FILE) or --api-key")
    config = OperatorConfig(
        api_url=api_url,
        api_key=SecretStr(key),
        api_key_file=api_key_file,
        cluster_id=cluster_id,
        namespaces=namespaces,
        worker_limit=worker_limit,
        drift_interval=drift_interval,
        health_port=health_port,
        metrics_port=metrics_port,
        watch_silence_limit=watch_silence_limit,
        secret_watch=secret_watch,
    )
    asyncio.run(run_operator(config))
