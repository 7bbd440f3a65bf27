"""Thin kopf wiring: every cause of every kind goes to the one reconcile engine.

create/update → reconcile; delete → finalize. The periodic drift check is one loop over all objects (`drift`), not a
timer per object; it also covers a restart (kopf re-runs create/update for what changed while it was down). Handlers
return nothing and write the status fields the engine decided on (one patch); Events go out only for transitions.
Dependency changes (a Secret rotated, a referenced resource became Ready) nudge the dependent resources, found in kopf
indexes, so nothing polls and nothing lists.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

import kopf

from signalcraft.controllers import conditions as cond
from signalcraft.controllers.common import GROUP, VERSION
from signalcraft.controllers.conditions import ConditionType
from signalcraft.controllers.engine import KubeObject, Mode, Outcome, Reconciler
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
    """Bounds how many objects are reconciled at once. kopf's own worker_limit cannot: with indexes, a worker that
    holds a slot waits for every object to be indexed, so fewer slots than objects deadlock the start-up."""


def _apply(outcome: Outcome, body: kopf.Body, patch: kopf.Patch, runtime: Runtime) -> None:
    if outcome.status_patch:
        patch.status.update(outcome.status_patch)
        runtime.reconciler.metrics.kube_writes.labels("status").inc()
    for event in outcome.events:
        kopf.event(body, type=event.type, reason=event.reason, message=event.message)


def register(registry: kopf.OperatorRegistry, runtime: Runtime, *, secret_watch: bool = True) -> None:
    for kind in KINDS:
        _register_kind(registry, runtime, kind)
    _register_dependency_nudges(registry, runtime, secret_watch=secret_watch)


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

    @kopf.on.event(*resource, registry=registry, param=kind, id="watch-alive")
    async def seen(*, param: Any = None, **_: Any) -> None:
        runtime.last_event_at[param.kind] = time.monotonic()
        runtime.reconciler.metrics.last_watch_event.set(time.time())


def _index_id(kind: ManagedKind) -> str:
    return f"dependencies_{kind.plural}"


def _register_dependency_nudges(registry: kopf.OperatorRegistry, runtime: Runtime, *, secret_watch: bool) -> None:
    """Each kind indexes what its objects depend on; a dependency's change nudges exactly the objects waiting for it.

    Index keys: ("ref", namespace, kind, name) for custom resources, ("secret", namespace, name) for Secrets. Values:
    (dependant kind, dependant name, waiting) — whether it is in ReferencesResolved=False, read from its own status.
    No LIST: kopf keeps the indexes current from the watches it runs anyway.
    """
    for kind in KINDS:
        _register_index(registry, kind)

    def dependants(indexes: dict[str, Any], key: tuple[str, ...]) -> set[tuple[str, str, bool]]:
        found: set[tuple[str, str, bool]] = set()
        for kind in KINDS:
            index = indexes.get(_index_id(kind))
            if index is not None and key in index:
                found.update(index[key])
        return found

    async def nudge(
        namespace: str, key: tuple[str, ...], token: str, indexes: dict[str, Any], only_waiting: bool
    ) -> None:
        for kind_name, name, waiting in sorted(dependants(indexes, key)):
            if only_waiting and not waiting:
                continue
            await runtime.reconciler.kube.request_resync(BY_KIND[kind_name], namespace, name, token)
            runtime.reconciler.metrics.kube_writes.labels("resync").inc()

    for kind in KINDS:
        _register_ready_nudge(registry, kind, nudge)
    if not secret_watch:
        return

    @kopf.on.event("", "v1", "secrets", registry=registry)
    async def secret_changed(
        *, type: str | None, namespace: str | None, name: str, body: kopf.Body, **indexes: Any
    ) -> None:
        # The initial listing (type None) is skipped: on start, every object is resumed and re-reads its Secrets.
        if type is None or namespace is None:
            return
        token = f"secret-{name}-{body.get('metadata', {}).get('resourceVersion', '')}"
        await nudge(namespace, ("secret", namespace, name), token, indexes, only_waiting=False)


def _register_index(registry: kopf.OperatorRegistry, kind: ManagedKind) -> None:
    @kopf.index(GROUP, VERSION, kind.plural, registry=registry, id=_index_id(kind), param=kind)
    async def dependencies(  # async: kopf runs a sync handler in a thread, for every event of every object
        *, namespace: str | None, name: str, body: kopf.Body, param: Any = None, **_: Any
    ) -> dict[tuple[str, ...], tuple[str, str, bool]]:
        if namespace is None:
            return {}
        try:
            spec = param.parse_spec(dict(body.get("spec") or {}))
        except ValueError:
            return {}
        waiting = cond.reason_of(KubeObject(body).conditions, ConditionType.REFERENCES_RESOLVED) not in (
            None,
            "Resolved",
        )
        value = (param.kind, name, waiting)
        keys: list[tuple[str, ...]] = [("ref", namespace, ref.kind, ref.name) for ref in param.references(spec)]
        keys += [("secret", namespace, ref.secret_name) for ref in param.secret_references(spec)]
        connection = param.connection_secret(spec)
        if connection is not None:
            keys.append(("secret", namespace, connection))
        return dict.fromkeys(keys, value)


def _register_ready_nudge(registry: kopf.OperatorRegistry, kind: ManagedKind, nudge: Any) -> None:
    @kopf.on.event(GROUP, VERSION, kind.plural, registry=registry, id=f"nudge-dependants-{kind.plural}", param=kind)
    async def became_ready(
        *, type: str | None, namespace: str | None, name: str, body: kopf.Body, param: Any = None, **indexes: Any
    ) -> None:
        obj = KubeObject(body)
        ready = cond.is_true(obj.conditions, ConditionType.READY) and obj.observed_generation_is_current
        if type == "DELETED" or not ready or namespace is None:
            return
        token = f"{param.singular}-{name}-{obj.generation}"
        await nudge(namespace, ("ref", namespace, param.kind, name), token, indexes, only_waiting=True)
