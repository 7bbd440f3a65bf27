"""Thin kopf wiring: every cause of every kind goes to the one reconcile engine.

create/update → reconcile; delete → finalize. The periodic drift check is one loop over all objects (`drift`), not a
timer per object; it also covers a restart (kopf re-runs create/update for what changed while it was down). Handlers
return nothing and write the status fields the engine decided on (one patch); Events go out only for transitions.
Dependency changes (a Secret rotated, a referenced resource became Ready) nudge the dependent resources, found in the
operator's own dependency index (fed from the watch events, see `dependencies`), so nothing polls, lists or waits.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

import kopf

from signalcraft.controllers.common import GROUP, VERSION
from signalcraft.controllers.dependencies import DependencyIndex, Nudge
from signalcraft.controllers.engine import Mode, Outcome, Reconciler
from signalcraft.controllers.kind import ManagedKind
from signalcraft.controllers.registry import BY_KIND, KINDS

FINALIZER = f"{GROUP}/finalizer"


@dataclass
class Runtime:
    """What the handlers share; filled in at startup, before kopf starts watching."""

    reconciler: Reconciler
    drift_interval: float
    last_event_at: dict[str, float]
    gate: asyncio.Semaphore
    """Bounds how many objects are reconciled at once (change handlers and the drift check together). Held only
    while reconciling: an object waiting to retry holds nothing, so failing objects never starve healthy ones."""
    dependencies: DependencyIndex


def _apply(outcome: Outcome, body: kopf.Body, patch: kopf.Patch, runtime: Runtime) -> None:
    if outcome.status_patch:
        patch.status.update(outcome.status_patch)
        runtime.reconciler.metrics.kube_writes.labels("status").inc()
    for event in outcome.events:
        kopf.event(body, type=event.type, reason=event.reason, message=event.message)


def register(registry: kopf.OperatorRegistry, runtime: Runtime, *, secret_watch: bool = True) -> None:
    for kind in KINDS:
        _register_kind(registry, runtime, kind)
    if secret_watch:
        _register_secret_watch(registry, runtime)


def _register_kind(registry: kopf.OperatorRegistry, runtime: Runtime, kind: ManagedKind) -> None:
    resource = (GROUP, VERSION, kind.plural)

    @kopf.on.create(*resource, registry=registry, param=kind, id="reconcile")
    @kopf.on.update(*resource, registry=registry, param=kind, id="reconcile")
    async def reconcile(*, body: kopf.Body, patch: kopf.Patch, retry: int, param: Any = None, **_: Any) -> None:
        async with runtime.gate:
            runtime.reconciler.metrics.in_flight.inc()
            try:
                outcome = await runtime.reconciler.reconcile(param, body, mode=Mode.CHANGE, retry=retry)
            finally:
                runtime.reconciler.metrics.in_flight.dec()
        _apply(outcome, body, patch, runtime)
        if outcome.retry_after is not None:
            raise kopf.TemporaryError(outcome.retry_reason, delay=outcome.retry_after)

    @kopf.on.delete(*resource, registry=registry, param=kind, id="finalize")
    async def finalize(*, body: kopf.Body, patch: kopf.Patch, retry: int, param: Any = None, **_: Any) -> None:
        async with runtime.gate:
            outcome = await runtime.reconciler.finalize(param, body, retry=retry)
        _apply(outcome, body, patch, runtime)
        if not outcome.finished:
            raise kopf.TemporaryError(outcome.retry_reason, delay=outcome.retry_after or 5.0)

    @kopf.on.event(*resource, registry=registry, param=kind, id="observe")
    async def seen(
        *, type: str | None, namespace: str | None, name: str, body: kopf.Body, param: Any = None, **_: Any
    ) -> None:
        """Every event of the kind: the watch is alive, the dependency index learns, dependants are nudged."""
        runtime.last_event_at[param.kind] = time.monotonic()
        runtime.reconciler.metrics.last_watch_event.set(time.time())
        if namespace is None:
            return
        if type == "DELETED":
            runtime.dependencies.forget(param, namespace, name)
            return
        await _nudge(runtime, runtime.dependencies.observe(param, body))


async def _nudge(runtime: Runtime, nudges: list[Nudge]) -> None:
    for nudge in nudges:
        await runtime.reconciler.kube.request_resync(BY_KIND[nudge.kind], nudge.namespace, nudge.name, nudge.token)
        runtime.reconciler.metrics.kube_writes.labels("resync").inc()


def _register_secret_watch(registry: kopf.OperatorRegistry, runtime: Runtime) -> None:
    @kopf.on.event("", "v1", "secrets", registry=registry)
    async def secret_changed(*, type: str | None, namespace: str | None, name: str, body: kopf.Body, **_: Any) -> None:
        # The initial listing (type None) is skipped: the Secrets of every object are read again when it is next
        # reconciled (a change or the drift check).
        if type is None or namespace is None:
            return
        version = str(body.get("metadata", {}).get("resourceVersion", ""))
        await _nudge(runtime, runtime.dependencies.secret_changed(namespace, name, version))
