"""The Kubernetes port: the few calls the engine makes besides the watch, as an interface.

The operator implements it with lightkube (`signalcraft.controllers.kube`); engine tests use an in-memory fake. Neither
the engine nor this interface knows kopf.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from signalcraft.controllers.kind import ManagedKind
from signalcraft.controllers.model import SecretObject


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
