"""Thin kopf wiring: every cause of every kind goes to the one reconcile engine.

create/update/resume → reconcile; a timer → drift check; delete → finalize. Handlers return nothing and write the
status fields the engine decided on (one patch); Events go out only for what the engine reports as a transition.
Two event handlers turn dependency changes (a Secret rotated, an EscalationPolicy became Ready) into a nudge on the
dependent resource, so nothing polls.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from typing import Any

import kopf

from signalcraft.controllers import conditions as cond
from signalcraft.controllers.alertpolicy import AlertPolicyKind, AlertPolicySpec
from signalcraft.controllers.common import GROUP, VERSION
from signalcraft.controllers.conditions import ConditionType
from signalcraft.controllers.engine import KubeObject, Mode, Outcome, Reconciler
from signalcraft.controllers.escalationpolicy import EscalationPolicyKind
from signalcraft.controllers.integration import IntegrationKind, IntegrationSpec
from signalcraft.controllers.kind import ManagedKind
from signalcraft.controllers.registry import KINDS

FINALIZER = f"{GROUP}/finalizer"


@dataclass
class Runtime:
    """What the handlers share; filled in at startup, before kopf starts watching."""

    reconciler: Reconciler
    drift_interval: float
    last_event_at: dict[str, float]


def _apply(outcome: Outcome, body: kopf.Body, patch: kopf.Patch, runtime: Runtime) -> None:
    if outcome.status_patch:
        patch.status.update(outcome.status_patch)
        runtime.reconciler.metrics.kube_writes.labels("status").inc()
    for event in outcome.events:
        kopf.event(body, type=event.type, reason=event.reason, message=event.message)


def register(registry: kopf.OperatorRegistry, runtime: Runtime) -> None:
    for kind in KINDS:
        _register_kind(registry, runtime, kind)
    _register_dependency_nudges(registry, runtime)


def _register_kind(registry: kopf.OperatorRegistry, runtime: Runtime, kind: ManagedKind) -> None:
    resource = (GROUP, VERSION, kind.plural)

    @kopf.on.resume(*resource, registry=registry, param=kind, id="reconcile")
    @kopf.on.create(*resource, registry=registry, param=kind, id="reconcile")
    @kopf.on.update(*resource, registry=registry, param=kind, id="reconcile")
    async def reconcile(*, body: kopf.Body, patch: kopf.Patch, retry: int, param: Any = None, **_: Any) -> None:
        runtime.reconciler.metrics.in_flight.inc()
        try:
            outcome = await runtime.reconciler.reconcile(param, body, mode=Mode.CHANGE, retry=retry)
        finally:
            runtime.reconciler.metrics.in_flight.dec()
        _apply(outcome, body, patch, runtime)
        if outcome.retry_after is not None:
            raise kopf.TemporaryError(outcome.retry_reason, delay=outcome.retry_after)

    @kopf.timer(
        *resource,
        registry=registry,
        param=kind,
        id="drift",
        interval=runtime.drift_interval,
        idle=min(60.0, runtime.drift_interval),
        initial_delay=lambda **_: random.uniform(0.5, 1.0) * runtime.drift_interval,  # noqa: S311 - spreading load
    )
    async def drift(*, body: kopf.Body, patch: kopf.Patch, param: Any = None, **_: Any) -> None:
        obj = KubeObject(body)
        if obj.status.get("observedGeneration") != obj.generation:
            return  # a change is being handled (or retried) by the reconcile handler; don't race it
        outcome = await runtime.reconciler.reconcile(param, body, mode=Mode.DRIFT)
        _apply(outcome, body, patch, runtime)

    @kopf.on.delete(*resource, registry=registry, param=kind, id="finalize")
    async def finalize(*, body: kopf.Body, patch: kopf.Patch, retry: int, param: Any = None, **_: Any) -> None:
        outcome = await runtime.reconciler.finalize(param, body, retry=retry)
        _apply(outcome, body, patch, runtime)
        if not outcome.finished:
            raise kopf.TemporaryError(outcome.retry_reason, delay=outcome.retry_after or 5.0)

    @kopf.on.event(*resource, registry=registry, param=kind, id="watch-alive")
    async def seen(*, param: Any = None, **_: Any) -> None:
        runtime.last_event_at[param.kind] = time.monotonic()
        runtime.reconciler.metrics.last_watch_event.set(time.time())


def _register_dependency_nudges(registry: kopf.OperatorRegistry, runtime: Runtime) -> None:
    alert_policies = AlertPolicyKind()
    integrations = IntegrationKind()

    @kopf.index(GROUP, VERSION, integrations.plural, registry=registry)
    def integration_secrets(
        *, namespace: str | None, name: str, spec: kopf.Spec, **_: Any
    ) -> dict[tuple[str | None, str], str]:
        try:
            parsed = IntegrationSpec.model_validate(dict(spec))
        except ValueError:
            return {}
        return {(namespace, source.secret_key_ref.name): name for source in parsed.credentials.values()}

    @kopf.on.event("", "v1", "secrets", registry=registry)
    async def secret_changed(
        *,
        type: str,
        namespace: str | None,
        name: str,
        body: kopf.Body,
        integration_secrets: kopf.Index[Any, str] | None = None,
        **_: Any,
    ) -> None:
        # The initial listing (type None) is skipped: on start, every Integration is resumed and re-checks its hash.
        if type not in ("ADDED", "MODIFIED") or namespace is None or integration_secrets is None:
            return
        token = f"secret-{name}-{body.get('metadata', {}).get('resourceVersion', '')}"
        for dependent in sorted(set(integration_secrets.get((namespace, name), []))):
            await runtime.reconciler.kube.request_resync(integrations, namespace, dependent, token)
            runtime.reconciler.metrics.kube_writes.labels("resync").inc()

    @kopf.on.event(GROUP, VERSION, EscalationPolicyKind.plural, registry=registry)
    async def escalation_policy_changed(
        *, type: str, namespace: str | None, name: str, body: kopf.Body, **_: Any
    ) -> None:
        obj = KubeObject(body)
        ready = cond.is_true(obj.conditions, ConditionType.READY) and (
            obj.status.get("observedGeneration") == obj.generation
        )
        if type == "DELETED" or not ready or namespace is None:
            return
        kube = runtime.reconciler.kube
        for policy in await kube.list_resources(alert_policies, namespace):
            dependent = KubeObject(policy)
            try:
                spec = AlertPolicySpec.model_validate(dict(dependent.spec))
            except ValueError:
                continue
            waiting = not cond.is_true(dependent.conditions, ConditionType.REFERENCES_RESOLVED)
            if spec.escalation_policy_ref is not None and spec.escalation_policy_ref.name == name and waiting:
                token = f"escalationpolicy-{name}-{obj.generation}"
                await kube.request_resync(alert_policies, namespace, dependent.name, token)
                runtime.reconciler.metrics.kube_writes.labels("resync").inc()
