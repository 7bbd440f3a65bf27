"""Act: carry out what `decide` chose — one SignalCraft write, a deletion or release, a connection Secret write."""

from __future__ import annotations

from collections.abc import Mapping

from signalcraft.api import Resource, SignalCraftClient
from signalcraft.controllers.decide import Action, SecretActionType
from signalcraft.controllers.kind import ManagedKind
from signalcraft.controllers.metrics import OperatorMetrics
from signalcraft.controllers.model import KubeObject, SecretObject
from signalcraft.controllers.observe import Meter, Observed, RemoteSnapshot
from signalcraft.controllers.ports import KubePort


class Actor:
    def __init__(
        self,
        api: SignalCraftClient,
        kube: KubePort,
        *,
        meter: Meter,
        snapshot: RemoteSnapshot,
        metrics: OperatorMetrics,
    ) -> None:
        self.api = api
        self.kube = kube
        self.meter = meter
        self.snapshot = snapshot
        self.metrics = metrics

    async def write(self, observed: Observed, action: Action) -> Resource:
        """The one PUT of a writing action: create-only for creates (never duplicates), If-Match otherwise."""
        kind = observed.kind
        assert observed.desired is not None
        assert observed.manager is not None
        desired, manager = observed.desired, observed.manager
        operation = {"create": "create", "recreate": "create", "adopt": "adopt"}.get(action.type.value, "update")

        async def put() -> Resource:
            result = await self.api.put(
                kind.collection,
                observed.remote_name,
                desired.spec,
                manager=manager,
                credentials=observed.credentials,
                create_only=action.create_only,
                if_match=None if action.create_only else action.etag,
            )
            return result.resource

        resource = await self.meter.call(kind.kind, operation, put)
        self.snapshot.remember(kind.collection, resource)
        return resource

    async def delete(self, kind: ManagedKind, remote_name: str, identity: str) -> None:
        await self.meter.call(
            kind.kind, "delete", lambda: self.api.delete(kind.collection, remote_name, manager_identity=identity)
        )
        self.snapshot.forget(kind.collection, remote_name)

    async def release(self, kind: ManagedKind, remote_name: str, identity: str) -> None:
        await self.meter.call(
            kind.kind, "release", lambda: self.api.release(kind.collection, remote_name, identity=identity)
        )
        self.snapshot.forget(kind.collection, remote_name)

    async def write_connection_secret(
        self,
        action: SecretActionType,
        obj: KubeObject,
        name: str,
        data: Mapping[str, str],
        existing: SecretObject | None,
    ) -> SecretObject | None:
        if action is SecretActionType.CREATE:
            written = await self.kube.create_secret(obj.namespace, name, data, obj.body)
        elif action is SecretActionType.UPDATE:
            assert existing is not None
            written = await self.kube.update_secret(obj.namespace, name, data, existing.resource_version)
        else:
            return existing
        self.metrics.kube_writes.labels("secret").inc()
        return written
