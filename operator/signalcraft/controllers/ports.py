"""The Kubernetes port: the few calls the engine makes besides the watch, as an interface.

The operator implements it with lightkube (`signalcraft.controllers.kube`); engine tests use an in-memory fake. Neither
the engine nor this interface knows kopf.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any, Protocol

from signalcraft.controllers.kind import ManagedKind
from signalcraft.controllers.model import EventRecord, SecretObject


class KubePort(Protocol):
    async def get_resource(self, kind: ManagedKind, namespace: str, name: str) -> Mapping[str, Any] | None:
        """A custom resource of `kind`, or None when it does not exist."""
        ...

    async def read_secret(self, namespace: str, name: str) -> SecretObject | None:
        """The Secret, decoded, or None when it does not exist."""
        ...

    async def create_secret(
        self, namespace: str, name: str, data: Mapping[str, str], owner: Mapping[str, Any]
    ) -> SecretObject:
        """Create a Secret controlled by `owner` (garbage-collected with it); fails if it exists."""
        ...

    async def update_secret(
        self, namespace: str, name: str, data: Mapping[str, str], resource_version: str
    ) -> SecretObject:
        """Replace the data of a Secret this operator created, if it is still at `resource_version`."""
        ...

    async def request_resync(self, kind: ManagedKind, namespace: str, name: str, token: str) -> None:
        """Make the watch deliver `name` again so it is reconciled now (a dependency changed)."""
        ...

    def list_resources(self, kind: ManagedKind, namespace: str | None) -> AsyncIterator[dict[str, Any]]:
        """Every object of `kind` in `namespace` (all namespaces when None), fetched page by page."""
        ...

    async def patch_status(
        self, kind: ManagedKind, namespace: str, name: str, patch: Mapping[str, Any], resource_version: str
    ) -> bool:
        """Merge `patch` into the status if the object is still at `resource_version`; False when it moved on."""
        ...

    async def post_event(self, involved: Mapping[str, Any], event: EventRecord) -> None:
        """A core/v1 Event about `involved` (for passes that run outside kopf's handlers)."""
        ...
