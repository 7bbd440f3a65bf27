"""The one reconcile engine every kind goes through: observe → decide → act → status.

`observe` reads (the resource's references and Secrets, the SignalCraft object); `decide` (pure) picks one action;
`act` performs it; `status` (pure) turns the action and its result into one status patch and the Events of
transitions. A pass that finds everything in sync writes nothing, anywhere. Kind-specific behaviour comes from the
kind's hooks (`ManagedKind`), never from here; kopf stays in `handlers` (an import-linter contract keeps it out).
"""

from __future__ import annotations

import random
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pydantic import ValidationError as SpecValidationError

from signalcraft.api import Resource, SignalCraftClient
from signalcraft.api import errors as api_errors
from signalcraft.controllers import status as st
from signalcraft.controllers.act import Actor
from signalcraft.controllers.decide import (
    Action,
    ActionType,
    DeletionActionType,
    SecretActionType,
    decide,
    decide_connection_secret,
    decide_deletion,
)
from signalcraft.controllers.kind import ManagedKind
from signalcraft.controllers.metrics import OperatorMetrics
from signalcraft.controllers.model import EventRecord, KubeError, KubeObject, Outcome, identity_of, remote_name_of
from signalcraft.controllers.observe import Meter, Observed, Observer
from signalcraft.controllers.ports import KubePort
from signalcraft.controllers.status import SKIP_CLEANUP_ANNOTATION, PassResult, backoff_delay, compute_status

__all__ = ["SKIP_CLEANUP_ANNOTATION", "KubeObject", "Mode", "Outcome", "Reconciler"]

_SYNCED = frozenset({*(t for t in ActionType if Action(t).writes), ActionType.NO_OP})


class Mode(StrEnum):
    CHANGE = "change"
    """Created, updated, resumed or nudged: read SignalCraft directly."""
    DRIFT = "drift"
    """Periodic check: may use the bulk listing of SignalCraft objects instead of one GET each."""


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _jitter() -> float:
    return random.uniform(0.8, 1.2)  # noqa: S311 - spreading retries, not crypto


class Reconciler:
    def __init__(
        self,
        api: SignalCraftClient,
        kube: KubePort,
        *,
        cluster_id: str,
        metrics: OperatorMetrics,
        drift_listing_max_age: float = 3600.0,
    ) -> None:
        self.api = api
        self.kube = kube
        self.cluster_id = cluster_id
        self.metrics = metrics
        meter = Meter(metrics)
        self.observer = Observer(
            api, kube, cluster_id=cluster_id, meter=meter, drift_listing_max_age=drift_listing_max_age
        )
        self.actor = Actor(api, kube, meter=meter, snapshot=self.observer.snapshot, metrics=metrics)

    def identity(self, kind: ManagedKind, obj: KubeObject) -> str:
        return identity_of(self.cluster_id, obj.namespace, kind.kind, obj.name)

    # ---------------------------------------------------------------- reconcile

    async def reconcile(self, kind: ManagedKind, body: Mapping[str, Any], *, mode: Mode, retry: int = 0) -> Outcome:
        obj = KubeObject(body)
        started = time.perf_counter()
        try:
            outcome = await self._reconcile(kind, obj, mode=mode, retry=retry)
        finally:
            self.metrics.reconcile_seconds.labels(kind.kind).observe(time.perf_counter() - started)
        result = "retry" if outcome.retry_after is not None else ("wrote" if outcome.status_patch else "noop")
        self.metrics.reconciles.labels(kind.kind, mode.value, result).inc()
        return outcome

    async def _reconcile(self, kind: ManagedKind, obj: KubeObject, *, mode: Mode, retry: int) -> Outcome:
        now = _now()
        first_sight = obj.status.get("remoteVersion") is None
        # A brand-new resource is created with one create-only PUT, without reading first; if the object exists
        # after all (412), it is read and decided on again.
        read_first = not (first_sight and mode is Mode.CHANGE)
        observed: Observed | None = None
        action: Action | None = None
        remote: Resource | None = None
        kind_status: dict[str, Any] = {}
        refused: str | None = None
        failure: Exception | None = None
        try:
            observed = await self.observer.observe(kind, obj, read_remote=read_first, use_listing=mode is Mode.DRIFT)
            action = decide(observed.observation)
            remote = observed.observation.remote
            if action.writes:
                try:
                    remote = await self.actor.write(observed, action)
                except api_errors.PreconditionFailedError:
                    if observed.observation.remote_read:
                        raise
                    observed = await self.observer.observe(kind, obj, read_remote=True, use_listing=False)
                    action = decide(observed.observation)
                    remote = observed.observation.remote
                    if action.writes:
                        remote = await self.actor.write(observed, action)
            if action.type is ActionType.CORRECT_DRIFT or action.type is ActionType.REPORT_DRIFT:
                self.metrics.drift_found.labels(kind.kind).inc()
            if action.type in _SYNCED and remote is not None:
                kind_status, refused = await self._kind_status(observed, action, remote)
        except (api_errors.SignalCraftError, KubeError) as exc:
            failure = exc
        return compute_status(
            PassResult(
                obj=obj,
                now=now,
                collection=kind.collection,
                remote_name=observed.remote_name if observed is not None else "",
                action=action,
                remote=remote,
                failure=failure,
                uses_references=observed.uses_references if observed is not None else False,
                kind_status=kind_status,
                connection_refused=refused,
                retry=retry,
                jitter=_jitter(),
            )
        )

    async def _kind_status(
        self, observed: Observed, action: Action, remote: Resource
    ) -> tuple[dict[str, Any], str | None]:
        """Kind-specific status, credential Secret versions and the connection Secret (written if ours)."""
        kind, obj, spec = observed.kind, observed.obj, observed.spec
        assert spec is not None
        extra = kind.remote_status(remote, obj.status)
        if observed.credential_versions is not None:
            extra["credentialsSecretVersions"] = dict(observed.credential_versions)
        target = kind.connection_secret(spec)
        if target is None:
            return extra, None
        status = obj.status
        if not action.writes and status.get("connectionSecretVersion") and status.get("connectionSecretName") == target:
            return extra, None
        data = await self.actor.meter.call(
            kind.kind, "connection", lambda: kind.connection_data(self.api, spec, observed.remote_name)
        )
        existing = await self.kube.read_secret(obj.namespace, target)
        secret_action = decide_connection_secret(existing, obj.uid, data)
        extra.update(kind.connection_status(data, target))
        if secret_action is SecretActionType.REFUSE:
            message = (
                f"Secret {target!r} exists and was not created by this {kind.kind}: it is left untouched; "
                "delete it or choose another writeConnectionSecretToRef"
            )
            return extra, message
        written = await self.actor.write_connection_secret(secret_action, obj, target, data, existing)
        assert written is not None
        extra["connectionSecretName"] = target
        extra["connectionSecretVersion"] = written.resource_version
        return extra, None

    # ---------------------------------------------------------------- finalize

    async def finalize(self, kind: ManagedKind, body: Mapping[str, Any], *, retry: int = 0) -> Outcome:
        obj = KubeObject(body)
        now = _now()
        try:
            spec = kind.parse_spec(obj.spec)
        except SpecValidationError:
            spec = None
        choice = decide_deletion(
            skip_cleanup=obj.annotations.get(SKIP_CLEANUP_ANNOTATION) == "true",
            spec_valid=spec is not None,
            suspended=spec is not None and spec.suspend,
            policy=spec.deletion_policy
            if spec is not None
            else kind.spec_model.model_fields["deletion_policy"].default,
        )
        if choice is DeletionActionType.SKIP_CLEANUP:
            message = f"{SKIP_CLEANUP_ANNOTATION} is set: the SignalCraft object was not touched"
            return Outcome(events=[EventRecord("Normal", "Orphaned", message)])
        if choice is DeletionActionType.UNREADABLE or spec is None:
            return Outcome(events=[EventRecord("Warning", "InvalidSpec", "spec unreadable: nothing was deleted")])
        remote_name = remote_name_of(spec, obj.namespace, obj.name)
        identity = self.identity(kind, obj)
        what = f"SignalCraft {kind.collection} object {remote_name!r}"
        if choice is DeletionActionType.LEAVE_SUSPENDED:
            return Outcome(events=[EventRecord("Normal", "Orphaned", f"suspended: left {what} in place")])
        try:
            if choice is DeletionActionType.RELEASE:
                await self.actor.release(kind, remote_name, identity)
                return Outcome(events=[EventRecord("Normal", "Orphaned", f"released {what}; it stays in SignalCraft")])
            await self.actor.delete(kind, remote_name, identity)
            return Outcome(events=[EventRecord("Normal", "Deleted", f"deleted {what}")])
        except api_errors.NotFoundError:
            return Outcome(events=[EventRecord("Normal", "Deleted", f"{what} was already gone")])
        except api_errors.ConflictError as exc:
            if exc.code == "ownership-conflict":
                message = f"{what} is managed by {exc.current_manager or 'another manager'}; left it in place"
                return Outcome(events=[EventRecord("Warning", "ManagementConflict", message)])
            referrers = ", ".join(f"{ref.get('collection')}/{ref.get('name')}" for ref in exc.referenced_by)
            message = f"{what} is still referenced by {referrers or 'other objects'}; deletion waits until they go"
            return st.deletion_blocked(obj, now, message, backoff_delay(retry, jitter=_jitter()))
        except api_errors.SignalCraftError as exc:
            retry_after = exc.retry_after if isinstance(exc, api_errors.ApiError) else None
            message = (
                f"cannot reach SignalCraft to clean up {what}: {exc}. If the API is gone for good, annotate the "
                f"resource with {SKIP_CLEANUP_ANNOTATION}=true"
            )
            outcome = st.transient(obj, now, "SyncFailed", message, backoff_delay(retry, retry_after, jitter=_jitter()))
            outcome.finished = False
            return outcome
