"""Observe: read everything one pass decides on — the spec, its references, its Secrets, the SignalCraft object.

Reads only. Credentials come only from the Secrets the resource references, in its own namespace; the SignalCraft
object comes from a GET, or during drift checks from a bulk listing shared by every object of the collection.
"""

from __future__ import annotations

import asyncio
import dataclasses
import math
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import ValidationError as SpecValidationError

from signalcraft.api import Manager, Resource, SignalCraftClient
from signalcraft.api import errors as api_errors
from signalcraft.api.envelope import ManagerSource
from signalcraft.controllers import conditions as cond
from signalcraft.controllers.common import ManagedSpec
from signalcraft.controllers.conditions import ConditionType
from signalcraft.controllers.decide import Observation
from signalcraft.controllers.kind import DesiredState, ManagedKind, ResolvedReference
from signalcraft.controllers.metrics import OperatorMetrics
from signalcraft.controllers.model import (
    KubeObject,
    SecretObject,
    Unresolved,
    fingerprint,
    identity_of,
    identity_prefix,
    remote_name_of,
)
from signalcraft.controllers.ports import KubePort
from signalcraft.controllers.registry import BY_KIND

LIST_PAGE_SIZE = 500
_T = TypeVar("_T")


class Meter:
    """Counts and times every SignalCraft API call by kind, operation and outcome."""

    def __init__(self, metrics: OperatorMetrics) -> None:
        self.metrics = metrics

    async def call(self, kind: str, operation: str, call: Callable[[], Awaitable[_T]]) -> _T:
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
            self.metrics.api_calls.labels(kind, operation, outcome).inc()
            self.metrics.api_latency.labels(operation).observe(time.perf_counter() - started)


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

    def invalidate(self) -> None:
        """Forget every listing: the next lookup of each collection lists it afresh (a drift pass starts)."""
        self._listings.clear()

    def remember(self, collection: str, resource: Resource) -> None:
        fetched = self._listings.get(collection)
        if fetched is not None:
            fetched[1][resource.name] = resource

    def forget(self, collection: str, name: str) -> None:
        fetched = self._listings.get(collection)
        if fetched is not None:
            fetched[1].pop(name, None)


@dataclass(frozen=True)
class Observed:
    """One pass's view: `observation` is what `decide` sees; the rest is what acting on it needs."""

    obj: KubeObject
    kind: ManagedKind
    observation: Observation
    spec: ManagedSpec | None = None
    remote_name: str = ""
    desired: DesiredState | None = None
    manager: Manager | None = None
    credentials: Mapping[str, str] | None = None
    credential_versions: Mapping[str, str] | None = None
    """resourceVersion of each credential Secret (recorded in status instead of any hash of the values)."""
    uses_references: bool = False


class Observer:
    def __init__(
        self,
        api: SignalCraftClient,
        kube: KubePort,
        *,
        cluster_id: str,
        meter: Meter,
        drift_listing_max_age: float = 30.0,
    ) -> None:
        self.api = api
        self.kube = kube
        self.cluster_id = cluster_id
        self.meter = meter
        self.snapshot = RemoteSnapshot(self._list_managed, drift_listing_max_age)

    async def _list_managed(self, collection: str) -> dict[str, Resource]:
        """Every object of the collection this cluster manages, by name (one paginated listing)."""
        started = time.perf_counter()
        pages = self.api.list(
            collection, manager_identity=f"{identity_prefix(self.cluster_id)}*", page_size=LIST_PAGE_SIZE
        )
        found = {resource.name: resource async for resource in pages}
        metrics = self.meter.metrics
        metrics.api_calls.labels(collection, "list", "ok").inc(max(1, math.ceil(len(found) / LIST_PAGE_SIZE)))
        metrics.api_latency.labels("list").observe(time.perf_counter() - started)
        return found

    def identity(self, kind: ManagedKind, obj: KubeObject) -> str:
        return identity_of(self.cluster_id, obj.namespace, kind.kind, obj.name)

    async def observe(self, kind: ManagedKind, obj: KubeObject, *, read_remote: bool, use_listing: bool) -> Observed:
        base = Observation(
            identity=self.identity(kind, obj),
            generation=obj.generation,
            observed_generation=obj.status.get("observedGeneration"),
            recorded_remote_version=obj.status.get("remoteVersion"),
        )
        try:
            spec = kind.parse_spec(obj.spec)
        except SpecValidationError as exc:
            message = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
            return Observed(obj, kind, _replace(base, invalid_spec=message))
        remote_name = remote_name_of(spec, obj.namespace, obj.name)
        if spec.suspend:
            return Observed(obj, kind, _replace(base, suspended=True), spec=spec, remote_name=remote_name)
        uses_references = bool(kind.references(spec) or kind.secret_references(spec))

        resolved: dict[str, ResolvedReference] = {}
        unresolved = await self._resolve_references(kind, spec, obj, resolved)
        credentials: dict[str, str] | None = None
        versions: dict[str, str] | None = None
        if unresolved is None:
            credentials, versions, unresolved = await self._read_credentials(kind, spec, obj)
        if unresolved is not None:
            return Observed(
                obj,
                kind,
                _replace(base, unresolved=unresolved),
                spec=spec,
                remote_name=remote_name,
                uses_references=uses_references,
            )

        desired = kind.desired(spec, resolved)
        manager = Manager(
            identity=base.identity,
            uid=obj.uid,
            source=ManagerSource(checksum=fingerprint(dict(desired.spec)), generation=obj.generation),
        )
        remote: Resource | None = None
        if read_remote:
            remote = await self.read_remote(kind, remote_name, use_listing=use_listing)
        observation = _replace(
            base,
            desired_spec=desired.spec,
            drift_policy=spec.drift_policy,
            remote_read=read_remote,
            remote=remote,
            credentials_changed=versions is not None and dict(versions) != obj.status.get("credentialsSecretVersions"),
        )
        return Observed(
            obj,
            kind,
            observation,
            spec=spec,
            remote_name=remote_name,
            desired=desired,
            manager=manager,
            credentials=credentials,
            credential_versions=versions,
            uses_references=uses_references,
        )

    async def read_remote(self, kind: ManagedKind, remote_name: str, *, use_listing: bool) -> Resource | None:
        remote: Resource | None = None
        if use_listing:
            remote = await self.snapshot.lookup(kind.collection, remote_name)
        if remote is None:
            try:
                remote = await self.meter.call(kind.kind, "get", lambda: self.api.get(kind.collection, remote_name))
            except api_errors.NotFoundError:
                remote = None
        return remote

    async def _resolve_references(
        self, kind: ManagedKind, spec: ManagedSpec, obj: KubeObject, resolved: dict[str, ResolvedReference]
    ) -> Unresolved | None:
        for reference in kind.references(spec):
            target_kind = BY_KIND[reference.kind]
            target = await self.kube.get_resource(target_kind, obj.namespace, reference.name)
            where = f"{reference.kind} {reference.name!r} in namespace {obj.namespace}"
            if target is None:
                return Unresolved(
                    "ReferenceNotFound", f"{reference.field_path} names {where}, which does not exist; create it"
                )
            target_obj = KubeObject(target)
            ready = cond.find(target_obj.conditions, ConditionType.READY)
            if ready is None or ready.get("status") != "True" or not target_obj.observed_generation_is_current:
                return Unresolved("ReferenceNotReady", f"{reference.field_path} waits for {where} to become Ready")
            target_spec = target_kind.parse_spec(target_obj.spec)
            remote_name = remote_name_of(target_spec, target_obj.namespace, target_obj.name)
            resolved[reference.field_path] = ResolvedReference(reference, remote_name)
        return None

    async def _read_credentials(
        self, kind: ManagedKind, spec: ManagedSpec, obj: KubeObject
    ) -> tuple[dict[str, str] | None, dict[str, str] | None, Unresolved | None]:
        references = kind.secret_references(spec)
        if not references:
            return None, None, None
        credentials: dict[str, str] = {}
        versions: dict[str, str] = {}
        # Only the Secrets this resource names, only in its own namespace: a reference has no namespace field.
        secrets: dict[str, SecretObject | None] = {}
        for reference in references:
            if reference.secret_name not in secrets:
                secrets[reference.secret_name] = await self.kube.read_secret(obj.namespace, reference.secret_name)
            secret = secrets[reference.secret_name]
            if secret is None or reference.secret_key not in secret.data:
                missing = "Secret" if secret is None else f"key {reference.secret_key!r} in Secret"
                return (
                    None,
                    None,
                    Unresolved(
                        "SecretNotFound",
                        f"credential {reference.credential} needs {missing} {reference.secret_name!r} "
                        f"in namespace {obj.namespace}",
                    ),
                )
            credentials[reference.credential] = secret.data[reference.secret_key]
            versions[secret.name] = secret.resource_version
        return credentials, versions, None


def _replace(observation: Observation, **changes: Any) -> Observation:
    return dataclasses.replace(observation, **changes)
