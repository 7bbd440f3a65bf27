"""The one reconcile engine every kind goes through.

resolve references → build the desired API object → compare with SignalCraft → act (per drift/deletion policy) →
one status patch → Events only on transitions. A pass that finds everything in sync writes nothing, anywhere.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, TypeVar

import yaml
from pydantic import ValidationError as SpecValidationError

from signalcraft.api import Manager, Resource, SignalCraftClient
from signalcraft.api import errors as api_errors
from signalcraft.api.envelope import ManagerSource
from signalcraft.controllers import conditions as cond
from signalcraft.controllers.common import DeletionPolicy, DriftPolicy, ManagedSpec
from signalcraft.controllers.conditions import ConditionType, ConditionUpdate
from signalcraft.controllers.diff import spec_differences
from signalcraft.controllers.integration import IntegrationSpec
from signalcraft.controllers.kind import ManagedKind, ResolvedReference
from signalcraft.controllers.kube import KubeError, KubePort
from signalcraft.controllers.metrics import OperatorMetrics
from signalcraft.controllers.registry import BY_KIND

SKIP_CLEANUP_ANNOTATION = "signalcraft.io/skip-remote-cleanup"
"""Escape hatch: when "true", deleting the resource removes the finalizer without calling SignalCraft."""

MAX_BACKOFF = 300.0
LIST_PAGE_SIZE = 500
_T = TypeVar("_T")


class Mode(StrEnum):
    CHANGE = "change"
    """Created, updated, resumed or nudged: read SignalCraft directly."""
    DRIFT = "drift"
    """Periodic check: may use the bulk listing of SignalCraft objects instead of one GET each."""


@dataclass(frozen=True)
class KubeObject:
    """The parts of a custom resource the engine looks at (as kopf delivered it)."""

    body: Mapping[str, Any]

    @property
    def namespace(self) -> str:
        return str(self.body["metadata"]["namespace"])

    @property
    def name(self) -> str:
        return str(self.body["metadata"]["name"])

    @property
    def uid(self) -> str:
        return str(self.body["metadata"].get("uid", ""))

    @property
    def generation(self) -> int:
        return int(self.body["metadata"].get("generation", 1))

    @property
    def annotations(self) -> Mapping[str, str]:
        return self.body["metadata"].get("annotations") or {}

    @property
    def spec(self) -> Mapping[str, Any]:
        return self.body.get("spec") or {}

    @property
    def status(self) -> Mapping[str, Any]:
        return self.body.get("status") or {}

    @property
    def conditions(self) -> list[Mapping[str, Any]]:
        return list(self.status.get("conditions") or [])


@dataclass(frozen=True)
class EventRecord:
    type: str
    reason: str
    message: str


@dataclass
class Outcome:
    """What a pass decided: a status merge-patch (empty = write nothing), Events, and whether to retry."""

    status_patch: dict[str, Any] = field(default_factory=dict)
    events: list[EventRecord] = field(default_factory=list)
    retry_after: float | None = None
    retry_reason: str = ""
    finished: bool = True
    """For finalize: whether the finalizer may go."""


@dataclass(frozen=True)
class _Unresolved:
    reason: str
    message: str


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def backoff_delay(retry: int, retry_after: float | None = None) -> float:
    """Exponential backoff with jitter, never sooner than the server's Retry-After."""
    delay = min(MAX_BACKOFF, 2.0 ** min(retry, 16)) * random.uniform(0.8, 1.2)  # noqa: S311 - jitter, not crypto
    return max(1.0, delay, retry_after or 0.0)


def fingerprint(value: Any) -> str:
    digest = hashlib.sha256(json.dumps(value, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    return f"sha256:{digest[:16]}"


def remote_name_of(spec: ManagedSpec, obj: KubeObject) -> str:
    return spec.remote_name or f"{obj.namespace}.{obj.name}"


class RemoteSnapshot:
    """A bulk listing of one collection, shared by every drift check until it is older than `max_age` seconds.

    Timers of many objects fire together; one listing per collection is fetched at a time (single flight) and the
    others wait for it instead of each listing everything again.
    """

    def __init__(self, fetch: Callable[[str], Awaitable[dict[str, Resource]]], max_age: float) -> None:
        self._fetch = fetch
        self._max_age = max_age
        self._listings: dict[str, tuple[float, dict[str, Resource]]] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def lookup(self, collection: str, name: str) -> Resource | None:
        """The listed object, or None when this listing does not have it (the caller then GETs it)."""
        async with self._locks.setdefault(collection, asyncio.Lock()):
            fetched = self._listings.get(collection)
            if fetched is None or time.monotonic() - fetched[0] > self._max_age:
                started = time.monotonic()
                fetched = (started, await self._fetch(collection))
                self._listings[collection] = fetched
        return fetched[1].get(name)

    def remember(self, collection: str, resource: Resource) -> None:
        fetched = self._listings.get(collection)
        if fetched is not None:
            fetched[1][resource.name] = resource

    def forget(self, collection: str, name: str) -> None:
        fetched = self._listings.get(collection)
        if fetched is not None:
            fetched[1].pop(name, None)


class Reconciler:
    def __init__(
        self,
        api: SignalCraftClient,
        kube: KubePort,
        *,
        cluster_id: str,
        metrics: OperatorMetrics,
        drift_listing_max_age: float = 30.0,
    ) -> None:
        self.api = api
        self.kube = kube
        self.cluster_id = cluster_id
        self.metrics = metrics
        self.snapshot = RemoteSnapshot(self._list_managed, drift_listing_max_age)

    @property
    def identity_prefix(self) -> str:
        return f"k8s://{self.cluster_id}/"

    async def _list_managed(self, collection: str) -> dict[str, Resource]:
        """Every object of the collection this cluster manages, by name (one paginated listing)."""

        async def listing() -> dict[str, Resource]:
            pages = self.api.list(collection, manager_identity=f"{self.identity_prefix}*", page_size=LIST_PAGE_SIZE)
            return {resource.name: resource async for resource in pages}

        started = time.perf_counter()
        found = await listing()
        self.metrics.api_calls.labels(collection, "list", "ok").inc(max(1, math.ceil(len(found) / LIST_PAGE_SIZE)))
        self.metrics.api_latency.labels("list").observe(time.perf_counter() - started)
        return found

    def identity(self, kind: ManagedKind, obj: KubeObject) -> str:
        return f"{self.identity_prefix}{obj.namespace}/{kind.kind}/{obj.name}"

    async def _call(self, kind: ManagedKind, operation: str, call: Callable[[], Awaitable[_T]]) -> _T:
        started = time.perf_counter()
        outcome = "ok"
        try:
            return await call()
        except api_errors.ApiError as exc:
            outcome = str(exc.status)
            raise
        except api_errors.SignalCraftError:
            outcome = "transport"
            raise
        finally:
            self.metrics.api_calls.labels(kind.kind, operation, outcome).inc()
            self.metrics.api_latency.labels(operation).observe(time.perf_counter() - started)

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
        try:
            spec = kind.parse_spec(obj.spec)
        except SpecValidationError as exc:
            message = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
            return self._stalled(obj, now, "InvalidSpec", f"the spec does not validate: {message}")

        if spec.suspend:
            return self._suspended(obj, now)

        resolved: dict[str, ResolvedReference] = {}
        unresolved = await self._resolve_references(kind, spec, obj, resolved)
        credentials: dict[str, str] | None = None
        if unresolved is None:
            credentials, unresolved = await self._read_credentials(kind, spec, obj)
        if unresolved is not None:
            return self._waiting_for_references(obj, now, unresolved)

        desired = kind.desired(spec, resolved)
        remote_name = remote_name_of(spec, obj)
        credentials_hash = fingerprint(credentials) if credentials else None
        manager = Manager(
            identity=self.identity(kind, obj),
            uid=obj.uid,
            source=ManagerSource(checksum=fingerprint(dict(desired.spec)), generation=obj.generation),
        )
        ctx = _Pass(kind, obj, spec, remote_name, now, desired.spec, credentials, credentials_hash, manager)
        try:
            return await self._sync(ctx, mode)
        except api_errors.ValidationError as exc:
            pointers = ", ".join(f"{e.pointer}: {e.detail}" for e in exc.errors) or exc.detail
            return self._stalled(obj, now, "InvalidSpec", f"SignalCraft refused the object: {pointers}")
        except api_errors.ConflictError as exc:
            if exc.code != "ownership-conflict":
                return self._stalled(obj, now, "SyncFailed", f"SignalCraft refused the write: {exc.detail}")
            return self._conflict(obj, now, exc.current_manager)
        except api_errors.PreconditionFailedError:
            return self._transient(obj, now, "UpdateConflict", "the SignalCraft object changed meanwhile", retry, 1.0)
        except (api_errors.AuthenticationError, api_errors.PermissionDeniedError) as exc:
            message = f"SignalCraft rejected the operator's API key ({exc.status} {exc.code}); check its Secret"
            return self._transient(obj, now, "ApiCredentialsRejected", message, retry, 60.0)
        except api_errors.SignalCraftError as exc:
            retry_after = exc.retry_after if isinstance(exc, api_errors.ApiError) else None
            return self._transient(obj, now, "SyncFailed", f"SignalCraft API unavailable: {exc}", retry, retry_after)
        except KubeError as exc:
            return self._transient(obj, now, "KubernetesError", str(exc), retry, None)

    async def _resolve_references(
        self, kind: ManagedKind, spec: ManagedSpec, obj: KubeObject, resolved: dict[str, ResolvedReference]
    ) -> _Unresolved | None:
        for reference in kind.references(spec):
            target_kind = BY_KIND[reference.kind]
            target = await self.kube.get_resource(target_kind, obj.namespace, reference.name)
            where = f"{reference.kind} {reference.name!r} in namespace {obj.namespace}"
            if target is None:
                return _Unresolved(
                    "ReferenceNotFound", f"{reference.field_path} names {where}, which does not exist; create it"
                )
            target_obj = KubeObject(target)
            ready = cond.find(target_obj.conditions, ConditionType.READY)
            if (
                ready is None
                or ready.get("status") != "True"
                or target_obj.status.get("observedGeneration") != target_obj.generation
            ):
                return _Unresolved("ReferenceNotReady", f"{reference.field_path} waits for {where} to become Ready")
            target_spec = target_kind.parse_spec(target_obj.spec)
            resolved[reference.field_path] = ResolvedReference(reference, remote_name_of(target_spec, target_obj))
        return None

    async def _read_credentials(
        self, kind: ManagedKind, spec: ManagedSpec, obj: KubeObject
    ) -> tuple[dict[str, str] | None, _Unresolved | None]:
        references = kind.secret_references(spec)
        if not references:
            return None, None
        credentials: dict[str, str] = {}
        secrets: dict[str, dict[str, str] | None] = {}
        for reference in references:
            if reference.secret_name not in secrets:
                secrets[reference.secret_name] = await self.kube.read_secret(obj.namespace, reference.secret_name)
            data = secrets[reference.secret_name]
            if data is None or reference.secret_key not in data:
                missing = "Secret" if data is None else f"key {reference.secret_key!r} in Secret"
                return None, _Unresolved(
                    "SecretNotFound",
                    f"credential {reference.credential} needs {missing} {reference.secret_name!r} "
                    f"in namespace {obj.namespace}",
                )
            credentials[reference.credential] = data[reference.secret_key]
        return credentials, None

    async def _sync(self, ctx: _Pass, mode: Mode) -> Outcome:
        kind, obj = ctx.kind, ctx.obj
        first_sight = obj.status.get("remoteVersion") is None
        if first_sight and mode is Mode.CHANGE:
            # The common case is a brand-new object: a create-only PUT is one call and cannot duplicate anything.
            try:
                result = await self._call(kind, "create", lambda: self._put(ctx, create_only=True))
            except api_errors.PreconditionFailedError:
                pass
            else:
                return await self._synced(ctx, result.resource, [EventRecord("Normal", "Created", ctx.created())])

        remote: Resource | None = None
        if mode is Mode.DRIFT:
            remote = await self.snapshot.lookup(kind.collection, ctx.remote_name)
        if remote is None:
            try:
                remote = await self._call(kind, "get", lambda: self.api.get(kind.collection, ctx.remote_name))
            except api_errors.NotFoundError:
                remote = None

        if remote is None:
            result = await self._call(kind, "create", lambda: self._put(ctx, create_only=True))
            message = ctx.created()
            if not first_sight:
                message = f"{message} again: it had been deleted outside Kubernetes"
            return await self._synced(ctx, result.resource, [EventRecord("Normal", "Created", message)])

        owner = remote.manager.identity if remote.manager is not None else None
        if owner is None:
            result = await self._call(kind, "adopt", lambda: self._put(ctx, if_match=remote.etag))
            message = f"adopted the existing SignalCraft {kind.collection} object {ctx.remote_name!r}"
            return await self._synced(ctx, result.resource, [EventRecord("Normal", "Adopted", message)])
        if owner != ctx.manager.identity:
            return self._conflict(obj, ctx.now, owner)

        differences = spec_differences(dict(ctx.desired_spec), remote.spec)
        credentials_changed = ctx.credentials_hash is not None and ctx.credentials_hash != obj.status.get(
            "credentialsHash"
        )
        if not differences and not credentials_changed:
            return await self._synced(ctx, remote, [])

        drifted = bool(differences) and (
            obj.status.get("observedGeneration") == obj.generation
            and obj.status.get("remoteVersion") is not None
            and remote.version != obj.status.get("remoteVersion")
        )
        if drifted:
            self.metrics.drift_found.labels(kind.kind).inc()
            fields = ", ".join(differences)
            if ctx.spec.drift_policy is DriftPolicy.REPORT:
                return self._drift_reported(ctx, remote, differences)
            result = await self._call(kind, "update", lambda: self._put(ctx, if_match=remote.etag))
            message = f"corrected a change made outside Kubernetes to {fields}"
            return await self._synced(
                ctx, result.resource, [EventRecord("Warning", "Drifted", message)], drift_corrected=differences
            )

        result = await self._call(kind, "update", lambda: self._put(ctx, if_match=remote.etag))
        changed = ", ".join(differences) if differences else "credentials (a Secret changed)"
        message = f"updated SignalCraft {kind.collection} object {ctx.remote_name!r}: {changed}"
        return await self._synced(ctx, result.resource, [EventRecord("Normal", "Updated", message)])

    async def _put(self, ctx: _Pass, *, create_only: bool = False, if_match: str | None = None) -> Any:
        result = await self.api.put(
            ctx.kind.collection,
            ctx.remote_name,
            ctx.desired_spec,
            manager=ctx.manager,
            credentials=ctx.credentials,
            create_only=create_only,
            if_match=if_match,
        )
        self.snapshot.remember(ctx.kind.collection, result.resource)
        return result

    async def _synced(
        self,
        ctx: _Pass,
        remote: Resource,
        events: list[EventRecord],
        *,
        drift_corrected: list[str] | None = None,
    ) -> Outcome:
        obj, status = ctx.obj, ctx.obj.status
        wrote = bool(events)
        updates = [
            ConditionUpdate(ConditionType.READY, True, "Synced", f"SignalCraft object {ctx.remote_name} is in sync"),
            ConditionUpdate(ConditionType.SYNCED, True, "Synced", "the SignalCraft object matches the spec"),
            ConditionUpdate(ConditionType.RECONCILING, False, "Synced"),
            ConditionUpdate(ConditionType.STALLED, False, "Synced"),
        ]
        if ctx.kind.references(ctx.spec) or ctx.kind.secret_references(ctx.spec):
            updates.append(ConditionUpdate(ConditionType.REFERENCES_RESOLVED, True, "Resolved"))
        drop = [ConditionType.MANAGEMENT_CONFLICT, ConditionType.DELETION_BLOCKED]
        if drift_corrected is not None:
            updates.append(
                ConditionUpdate(ConditionType.DRIFTED, False, "Corrected", f"corrected: {', '.join(drift_corrected)}")
            )
        elif cond.find(obj.conditions, ConditionType.DRIFTED) is not None and cond.is_true(
            obj.conditions, ConditionType.DRIFTED
        ):
            updates.append(ConditionUpdate(ConditionType.DRIFTED, False, "InSync"))
        new_status: dict[str, Any] = {
            "observedGeneration": obj.generation,
            "remoteId": remote.id,
            "remoteName": ctx.remote_name,
            "remoteVersion": remote.version,
            "lastSyncedAt": ctx.now if wrote or not status.get("lastSyncedAt") else status["lastSyncedAt"],
            "driftedFields": None,
            "conditions": cond.merge_conditions(
                obj.conditions, updates, generation=obj.generation, now=ctx.now, drop=drop
            ),
        }
        if isinstance(ctx.spec, IntegrationSpec):
            new_status.update(await self._integration_status(ctx, remote, wrote))
        return Outcome(status_patch=_status_patch(status, new_status), events=events)

    async def _integration_status(self, ctx: _Pass, remote: Resource, wrote: bool) -> dict[str, Any]:
        assert isinstance(ctx.spec, IntegrationSpec)
        status = ctx.obj.status
        extra: dict[str, Any] = {
            "credentialsHash": ctx.credentials_hash,
            "lastEventReceivedAt": remote.status.get("last_event_received_at") or status.get("lastEventReceivedAt"),
        }
        outbound = remote.status.get("last_outbound")
        if isinstance(outbound, dict):
            extra["lastOutboundCall"] = {"ok": bool(outbound.get("ok")), "at": str(outbound.get("at", ""))}
            if outbound.get("error"):
                extra["lastOutboundCall"]["error"] = str(outbound["error"])[:1024]
        target = ctx.spec.write_connection_secret_to_ref
        if target is None:
            return extra
        if not wrote and status.get("connectionSecretHash") and status.get("webhookURL"):
            return extra
        connection = await self._call(ctx.kind, "connection", lambda: self.api.integration_connection(ctx.remote_name))
        data = {
            "webhookURL": connection.webhook_url,
            "webhookToken": connection.webhook_token,
            "integrationKey": connection.integration_key,
        }
        if ctx.spec.type.value == "alertmanager":
            data["alertmanager.yml"] = alertmanager_receiver(connection.webhook_url)
        secret_hash = fingerprint(data)
        if secret_hash != status.get("connectionSecretHash"):
            await self.kube.write_owned_secret(ctx.obj.namespace, target.name, data, ctx.obj.body)
            self.metrics.kube_writes.labels("secret").inc()
        extra["connectionSecretHash"] = secret_hash
        # The URL carries the token, a secret: status shows where to send, the Secret holds the real URL.
        masked = connection.webhook_url
        for secret in (connection.webhook_token, connection.integration_key):
            if secret:
                masked = masked.replace(secret, f"<{target.name}>")
        extra["webhookURL"] = masked
        return extra

    def _drift_reported(self, ctx: _Pass, remote: Resource, differences: list[str]) -> Outcome:
        obj = ctx.obj
        message = f"changed outside Kubernetes: {', '.join(differences)} (driftPolicy Report: not corrected)"
        updates = [
            ConditionUpdate(ConditionType.DRIFTED, True, "DriftDetected", message),
            ConditionUpdate(ConditionType.SYNCED, False, "Drifted", message),
            ConditionUpdate(ConditionType.READY, True, "DriftReported", message),
            ConditionUpdate(ConditionType.RECONCILING, False, "DriftReported"),
            ConditionUpdate(ConditionType.STALLED, False, "DriftReported"),
        ]
        new_status = {
            "conditions": cond.merge_conditions(obj.conditions, updates, generation=obj.generation, now=ctx.now),
            "driftedFields": differences,
            "remoteId": remote.id,
        }
        events = []
        if obj.status.get("driftedFields") != differences:
            events.append(EventRecord("Warning", "Drifted", message))
        return Outcome(status_patch=_status_patch(obj.status, new_status), events=events)

    # ------------------------------------------------------------- outcomes

    def _failure(
        self,
        obj: KubeObject,
        now: str,
        updates: list[ConditionUpdate],
        event: EventRecord | None,
        transition_on: ConditionType,
    ) -> Outcome:
        previous_reason = cond.reason_of(obj.conditions, transition_on)
        merged = cond.merge_conditions(obj.conditions, updates, generation=obj.generation, now=now)
        new_status = {"observedGeneration": obj.generation, "conditions": merged}
        events = []
        new_reason = next(update.reason for update in updates if update.type is transition_on)
        if event is not None and previous_reason != new_reason:
            events.append(event)
        return Outcome(status_patch=_status_patch(obj.status, new_status), events=events)

    def _stalled(self, obj: KubeObject, now: str, reason: str, message: str) -> Outcome:
        updates = [
            ConditionUpdate(ConditionType.READY, False, reason, message),
            ConditionUpdate(ConditionType.SYNCED, False, reason, message),
            ConditionUpdate(ConditionType.RECONCILING, False, reason),
            ConditionUpdate(ConditionType.STALLED, True, reason, f"{message}; fix the spec to continue"),
        ]
        return self._failure(obj, now, updates, EventRecord("Warning", reason, message), ConditionType.STALLED)

    def _conflict(self, obj: KubeObject, now: str, current_manager: str | None) -> Outcome:
        owner = current_manager or "another manager"
        message = (
            f"the SignalCraft object is managed by {owner}; release it there (or set spec.remoteName) "
            "before this resource can manage it"
        )
        updates = [
            ConditionUpdate(ConditionType.MANAGEMENT_CONFLICT, True, "ManagedElsewhere", message),
            ConditionUpdate(ConditionType.READY, False, "ManagementConflict", message),
            ConditionUpdate(ConditionType.SYNCED, False, "ManagementConflict", message),
            ConditionUpdate(ConditionType.RECONCILING, False, "ManagementConflict"),
            ConditionUpdate(ConditionType.STALLED, True, "ManagementConflict", message),
        ]
        event = EventRecord("Warning", "ManagementConflict", message)
        return self._failure(obj, now, updates, event, ConditionType.MANAGEMENT_CONFLICT)

    def _transient(  # noqa: PLR0917 - a private helper called with all six, always in this order
        self, obj: KubeObject, now: str, reason: str, message: str, retry: int, retry_after: float | None
    ) -> Outcome:
        delay = backoff_delay(retry, retry_after)
        text = f"{message}; retrying in {delay:.0f}s"
        updates = [
            ConditionUpdate(ConditionType.READY, False, reason, text),
            ConditionUpdate(ConditionType.SYNCED, False, reason, text),
            ConditionUpdate(ConditionType.RECONCILING, True, "Retrying", text),
            ConditionUpdate(ConditionType.STALLED, False, reason),
        ]
        outcome = self._failure(obj, now, updates, EventRecord("Warning", "SyncFailed", message), ConditionType.SYNCED)
        # A retry's message only differs in its countdown: do not rewrite the status for that alone.
        if cond.reason_of(obj.conditions, ConditionType.SYNCED) == reason:
            outcome.status_patch = {}
        outcome.retry_after = delay
        outcome.retry_reason = message
        return outcome

    def _waiting_for_references(self, obj: KubeObject, now: str, unresolved: _Unresolved) -> Outcome:
        updates = [
            ConditionUpdate(ConditionType.REFERENCES_RESOLVED, False, unresolved.reason, unresolved.message),
            ConditionUpdate(ConditionType.READY, False, "ReferencesUnresolved", unresolved.message),
            ConditionUpdate(ConditionType.SYNCED, False, "ReferencesUnresolved", unresolved.message),
            ConditionUpdate(ConditionType.RECONCILING, True, "WaitingForReferences", unresolved.message),
            ConditionUpdate(ConditionType.STALLED, False, "WaitingForReferences"),
        ]
        reason = "ReferenceNotFound" if unresolved.reason != "ReferenceNotReady" else "ReferenceNotReady"
        event = EventRecord("Warning", reason, unresolved.message) if reason == "ReferenceNotFound" else None
        if unresolved.reason == "SecretNotFound":
            event = EventRecord("Warning", "ReferenceNotFound", unresolved.message)
        return self._failure(obj, now, updates, event, ConditionType.REFERENCES_RESOLVED)

    def _suspended(self, obj: KubeObject, now: str) -> Outcome:
        """No API calls. Ready keeps what the last sync established, so Flux and Argo CD do not wait on a pause."""
        message = "spec.suspend is true: no SignalCraft API calls are made"
        ready = cond.find(obj.conditions, ConditionType.READY)
        if ready is not None and ready.get("status") in ("True", "False"):
            kept = ConditionUpdate(
                ConditionType.READY,
                ready["status"] == "True",
                str(ready.get("reason", "")),
                str(ready.get("message", "")),
            )
        else:
            kept = ConditionUpdate(ConditionType.READY, None, "Suspended", f"{message}; never synced")
        updates = [
            kept,
            ConditionUpdate(ConditionType.SYNCED, False, "Suspended", message),
            ConditionUpdate(ConditionType.RECONCILING, False, "Suspended"),
            ConditionUpdate(ConditionType.STALLED, False, "Suspended"),
        ]
        return self._failure(obj, now, updates, None, ConditionType.SYNCED)

    # ---------------------------------------------------------------- finalize

    async def finalize(self, kind: ManagedKind, body: Mapping[str, Any], *, retry: int = 0) -> Outcome:
        obj = KubeObject(body)
        now = _now()
        if obj.annotations.get(SKIP_CLEANUP_ANNOTATION) == "true":
            message = f"{SKIP_CLEANUP_ANNOTATION} is set: the SignalCraft object was not touched"
            return Outcome(events=[EventRecord("Normal", "Orphaned", message)])
        try:
            spec = kind.parse_spec(obj.spec)
        except SpecValidationError:
            return Outcome(events=[EventRecord("Warning", "InvalidSpec", "spec unreadable: nothing was deleted")])
        remote_name = remote_name_of(spec, obj)
        identity = self.identity(kind, obj)
        what = f"SignalCraft {kind.collection} object {remote_name!r}"
        if spec.suspend:
            return Outcome(events=[EventRecord("Normal", "Orphaned", f"suspended: left {what} in place")])
        try:
            if spec.deletion_policy is DeletionPolicy.ORPHAN:
                await self._call(
                    kind, "release", lambda: self.api.release(kind.collection, remote_name, identity=identity)
                )
                event = EventRecord("Normal", "Orphaned", f"released {what}; it stays in SignalCraft")
            else:
                await self._call(
                    kind, "delete", lambda: self.api.delete(kind.collection, remote_name, manager_identity=identity)
                )
                event = EventRecord("Normal", "Deleted", f"deleted {what}")
            self.snapshot.forget(kind.collection, remote_name)
            return Outcome(events=[event])
        except api_errors.NotFoundError:
            return Outcome(events=[EventRecord("Normal", "Deleted", f"{what} was already gone")])
        except api_errors.ConflictError as exc:
            if exc.code == "ownership-conflict":
                message = f"{what} is managed by {exc.current_manager or 'another manager'}; left it in place"
                return Outcome(events=[EventRecord("Warning", "ManagementConflict", message)])
            referrers = ", ".join(f"{ref.get('collection')}/{ref.get('name')}" for ref in exc.referenced_by)
            message = f"{what} is still referenced by {referrers or 'other objects'}; deletion waits until they go"
            updates = [ConditionUpdate(ConditionType.DELETION_BLOCKED, True, "InUse", message)]
            outcome = self._failure(
                obj, now, updates, EventRecord("Warning", "DeletionBlocked", message), ConditionType.DELETION_BLOCKED
            )
            outcome.retry_after = backoff_delay(retry)
            outcome.retry_reason = message
            outcome.finished = False
            return outcome
        except api_errors.SignalCraftError as exc:
            retry_after = exc.retry_after if isinstance(exc, api_errors.ApiError) else None
            message = (
                f"cannot reach SignalCraft to clean up {what}: {exc}. If the API is gone for good, annotate the "
                f"resource with {SKIP_CLEANUP_ANNOTATION}=true"
            )
            outcome = self._transient(obj, now, "SyncFailed", message, retry, retry_after)
            outcome.finished = False
            return outcome


@dataclass(frozen=True)
class _Pass:
    kind: ManagedKind
    obj: KubeObject
    spec: ManagedSpec
    remote_name: str
    now: str
    desired_spec: Mapping[str, Any]
    credentials: Mapping[str, str] | None
    credentials_hash: str | None
    manager: Manager

    def created(self) -> str:
        return f"created SignalCraft {self.kind.collection} object {self.remote_name!r}"


def alertmanager_receiver(webhook_url: str) -> str:
    """A ready-to-use Alertmanager receiver for an alertmanager Integration (written to its connection Secret)."""
    receiver = {
        "receivers": [
            {"name": "signalcraft", "webhook_configs": [{"url": webhook_url, "send_resolved": True, "timeout": "10s"}]}
        ]
    }
    return yaml.safe_dump(receiver, sort_keys=False)


def _status_patch(current: Mapping[str, Any], desired: Mapping[str, Any]) -> dict[str, Any]:
    """Only the keys whose value changes; None removes a key that is present."""
    patch: dict[str, Any] = {}
    for key, value in desired.items():
        if value is None:
            if current.get(key) is not None:
                patch[key] = None
        elif current.get(key) != value:
            patch[key] = value
    return patch
