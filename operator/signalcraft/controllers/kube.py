"""The Kubernetes port over lightkube: Secrets, sibling resources, re-sync nudges (the engine's only K8s calls)."""

from __future__ import annotations

import base64
import functools
import logging
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime
from typing import Any

from lightkube import ApiError, AsyncClient
from lightkube.generic_resource import GenericNamespacedResource, create_namespaced_resource
from lightkube.models.core_v1 import EventSource, ObjectReference
from lightkube.models.meta_v1 import ObjectMeta, OwnerReference
from lightkube.resources.core_v1 import Event, Namespace, Secret
from lightkube.types import PatchType

from signalcraft.controllers.common import GROUP, VERSION
from signalcraft.controllers.kind import ManagedKind
from signalcraft.controllers.model import EventRecord, KubeError, SecretObject

log = logging.getLogger("signalcraft.operator")
LIST_PAGE = 500

FIELD_MANAGER = "signalcraft-operator"
RESYNC_ANNOTATION = f"sync.{GROUP}/requested-by"
"""Written by the operator on a resource whose dependency changed (a Secret rotated, a reference became Ready).

Not under `signalcraft.io/`: kopf keeps its own state there and leaves that prefix out of what counts as a change.
"""


@functools.cache
def _resource(kind: ManagedKind) -> type[GenericNamespacedResource]:
    return create_namespaced_resource(GROUP, VERSION, kind.kind, kind.plural)


def _as_dict(obj: GenericNamespacedResource) -> dict[str, Any]:
    converted: dict[str, Any] = obj.to_dict()  # type: ignore[no-untyped-call]
    return converted


class LightkubePort:
    def __init__(self, client: AsyncClient, *, instance: str = FIELD_MANAGER) -> None:
        self._client = client
        self._instance = instance

    @classmethod
    def from_environment(cls, *, instance: str = FIELD_MANAGER) -> LightkubePort:
        return cls(AsyncClient(field_manager=FIELD_MANAGER), instance=instance)

    async def aclose(self) -> None:
        await self._client.close()

    async def namespace_uid(self, name: str) -> str:
        namespace = await self._client.get(Namespace, name)
        uid = namespace.metadata.uid if namespace.metadata is not None else None
        if uid is None:
            raise KubeError(f"namespace {name} has no uid")
        return uid

    async def read_secret(self, namespace: str, name: str) -> SecretObject | None:
        try:
            secret = await self._client.get(Secret, name, namespace=namespace)
        except ApiError as exc:
            if exc.status.code == 404:
                return None
            raise KubeError(f"reading Secret {namespace}/{name}: {exc.status.reason}") from None
        return _secret_object(secret)

    async def create_secret(
        self, namespace: str, name: str, data: Mapping[str, str], owner: Mapping[str, Any]
    ) -> SecretObject:
        secret = Secret(
            metadata=ObjectMeta(
                name=name,
                namespace=namespace,
                labels={"app.kubernetes.io/managed-by": FIELD_MANAGER},
                ownerReferences=[
                    OwnerReference(
                        apiVersion=owner["apiVersion"],
                        kind=owner["kind"],
                        name=owner["metadata"]["name"],
                        uid=owner["metadata"]["uid"],
                        controller=True,
                        blockOwnerDeletion=False,
                    )
                ],
            ),
            type="Opaque",
            data=_encode(data),
        )
        try:
            created = await self._client.create(secret)
        except ApiError as exc:
            raise KubeError(f"creating Secret {namespace}/{name}: {exc.status.reason} {exc.status.message}") from None
        return _secret_object(created)

    async def update_secret(
        self, namespace: str, name: str, data: Mapping[str, str], resource_version: str
    ) -> SecretObject:
        current = await self.read_secret(namespace, name)
        removed = {key: None for key in (current.data if current is not None else {}) if key not in data}
        # resourceVersion makes the patch conditional: a Secret changed (or re-created by someone else) meanwhile
        # answers 409 and the next pass decides again.
        patch = {"metadata": {"resourceVersion": resource_version}, "data": {**removed, **_encode(data)}}
        try:
            updated = await self._client.patch(Secret, name, patch, namespace=namespace, patch_type=PatchType.MERGE)
        except ApiError as exc:
            raise KubeError(f"updating Secret {namespace}/{name}: {exc.status.reason} {exc.status.message}") from None
        return _secret_object(updated)

    async def get_resource(self, kind: ManagedKind, namespace: str, name: str) -> dict[str, Any] | None:
        try:
            obj = await self._client.get(_resource(kind), name, namespace=namespace)
        except ApiError as exc:
            if exc.status.code == 404:
                return None
            raise KubeError(f"reading {kind.kind} {namespace}/{name}: {exc.status.reason}") from None
        return _as_dict(obj)

    async def list_resources(self, kind: ManagedKind, namespace: str | None) -> AsyncIterator[dict[str, Any]]:
        try:
            async for obj in self._client.list(_resource(kind), namespace=namespace or "*", chunk_size=LIST_PAGE):
                yield _as_dict(obj)
        except ApiError as exc:
            raise KubeError(f"listing {kind.plural}: {exc.status.reason}") from None

    async def patch_status(
        self, kind: ManagedKind, namespace: str, name: str, patch: Mapping[str, Any], resource_version: str
    ) -> bool:
        body = {"metadata": {"resourceVersion": resource_version}, "status": dict(patch)}
        try:
            await self._client.patch(
                _resource(kind).Status, name, body, namespace=namespace, patch_type=PatchType.MERGE
            )
        except ApiError as exc:
            if exc.status.code in (404, 409):
                return False  # deleted, or changed meanwhile: the next pass (or the change handler) decides again
            raise KubeError(f"patching {kind.kind} {namespace}/{name} status: {exc.status.reason}") from None
        return True

    async def post_event(self, involved: Mapping[str, Any], event: EventRecord) -> None:
        metadata = involved["metadata"]
        now = datetime.now(UTC)
        record = Event(
            metadata=ObjectMeta(generateName="signalcraft-", namespace=metadata["namespace"]),
            involvedObject=ObjectReference(
                apiVersion=involved.get("apiVersion"),
                kind=involved.get("kind"),
                name=metadata["name"],
                namespace=metadata["namespace"],
                uid=metadata.get("uid"),
                resourceVersion=metadata.get("resourceVersion"),
            ),
            type=event.type,
            reason=event.reason,
            message=event.message[:1024],
            source=EventSource(component=FIELD_MANAGER),
            reportingComponent=FIELD_MANAGER,
            reportingInstance=self._instance,
            firstTimestamp=now,
            lastTimestamp=now,
            count=1,
        )
        try:
            await self._client.create(record)
        except ApiError as exc:
            # Events are auxiliary (status is the record): a refused one is logged, never retried in a loop.
            log.warning("posting an Event for %s failed: %s", metadata["name"], exc.status.reason)

    async def newest_change(self, kind: ManagedKind, namespaces: tuple[str, ...] = ()) -> str:
        """RFC 3339 time of the latest write to any object of the kind in `namespaces` (all when empty)."""
        newest = ""
        for namespace in namespaces or ("*",):
            async for obj in self._client.list(_resource(kind), namespace=namespace):
                for entry in (obj.metadata.managedFields if obj.metadata else None) or []:
                    if entry.time is not None:
                        newest = max(newest, entry.time.strftime("%Y-%m-%dT%H:%M:%SZ"))
        return newest

    async def request_resync(self, kind: ManagedKind, namespace: str, name: str, token: str) -> None:
        """Nudge kopf to reconcile another object now: an annotation change is a change kopf handles."""
        patch = {"metadata": {"annotations": {RESYNC_ANNOTATION: token}}}
        try:
            await self._client.patch(_resource(kind), name, patch, namespace=namespace, patch_type=PatchType.MERGE)
        except ApiError as exc:
            if exc.status.code != 404:
                raise KubeError(f"annotating {kind.kind} {namespace}/{name}: {exc.status.reason}") from None


def _encode(data: Mapping[str, str]) -> dict[str, str]:
    return {key: base64.b64encode(value.encode()).decode() for key, value in data.items()}


def _secret_object(secret: Secret) -> SecretObject:
    metadata = secret.metadata or ObjectMeta()
    data = {key: base64.b64decode(value).decode() for key, value in (secret.data or {}).items()}
    controller = next((ref.uid for ref in metadata.ownerReferences or [] if ref.controller), None)
    return SecretObject(
        name=metadata.name or "",
        data=data,
        resource_version=metadata.resourceVersion or "",
        controller_uid=controller,
    )
