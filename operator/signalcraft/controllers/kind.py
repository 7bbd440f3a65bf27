"""What the reconcile engine needs to know about a kind: its names, its spec model and its mapping to the API."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from pydantic import BaseModel

from signalcraft.api import Resource, SignalCraftClient
from signalcraft.api.collections import COLLECTIONS
from signalcraft.controllers.common import CATEGORY, GROUP, VERSION, ManagedSpec, ManagedStatus
from signalcraft.controllers.derive import from_api_spec, to_api_spec


@dataclass(frozen=True)
class Reference:
    """A dependency on another custom resource in the same namespace, resolved before the API is called."""

    kind: str
    plural: str
    name: str
    field_path: str


@dataclass(frozen=True)
class ResolvedReference:
    reference: Reference
    remote_name: str


@dataclass(frozen=True)
class SecretReference:
    """One credential the API needs, read from a Secret in the CR's namespace."""

    credential: str
    secret_name: str
    secret_key: str


@dataclass(frozen=True)
class DesiredState:
    """The request body the operator wants the SignalCraft object to match."""

    spec: Mapping[str, Any]
    credentials: Mapping[str, str] | None = None


class ManagedKind:
    """Base for AlertPolicy, EscalationPolicy, Integration: one stateless instance per kind."""

    kind: ClassVar[str]
    plural: ClassVar[str]
    collection: ClassVar[str]
    short_names: ClassVar[tuple[str, ...]]
    spec_model: ClassVar[type[ManagedSpec]]
    status_model: ClassVar[type[ManagedStatus]] = ManagedStatus
    description: ClassVar[str]
    extra_printer_columns: ClassVar[tuple[Mapping[str, object], ...]] = ()

    @property
    def singular(self) -> str:
        return self.kind.lower()

    @property
    def group(self) -> str:
        return GROUP

    @property
    def version(self) -> str:
        return VERSION

    @property
    def categories(self) -> list[str]:
        return [CATEGORY]

    @property
    def api_spec_model(self) -> type[BaseModel]:
        """The contract's model of this kind's API spec."""
        return COLLECTIONS[self.collection].spec_model

    def parse_spec(self, spec: Mapping[str, Any]) -> ManagedSpec:
        return self.spec_model.model_validate(dict(spec))

    def references(self, spec: ManagedSpec) -> list[Reference]:
        """Custom resources this object points at; all must be Ready before the API is called."""
        return []

    def secret_references(self, spec: ManagedSpec) -> list[SecretReference]:
        return []

    # The one mapping between a CR's spec and the API's spec, both ways; the operator, `plan` and `export` use it.
    # Shared fields map by name (see `derive`); a kind adds what has no counterpart (references to other CRs).

    def desired(self, spec: ManagedSpec, references: Mapping[str, ResolvedReference]) -> DesiredState:
        """The API body (snake_case) for a CR's spec, its references resolved to SignalCraft names."""
        return DesiredState(spec=to_api_spec(spec, self.api_spec_model))

    def manifest_spec(self, remote_spec: Mapping[str, Any], namespace: str) -> dict[str, Any]:
        """The other direction: the CR spec (camelCase) that declares `remote_spec`, for `signalcraft export`; a
        kind maps its references to `<namespace>.<name>` back to local refs."""
        return from_api_spec(remote_spec, self.api_spec_model, self.spec_model)

    def remote_status(self, remote: Resource, previous: Mapping[str, Any]) -> dict[str, Any]:
        """Kind-specific status fields read from the SignalCraft object after a sync (pure)."""
        return {}

    # Connection details: a kind whose SignalCraft object hands out something to connect with (Integration's webhook
    # URL and key) names a Secret to write them to. The engine writes it only when absent or owned by the resource.

    def connection_secret(self, spec: ManagedSpec) -> str | None:
        return None

    async def connection_data(self, api: SignalCraftClient, spec: ManagedSpec, remote_name: str) -> dict[str, str]:
        raise NotImplementedError

    def connection_status(self, data: Mapping[str, str], secret_name: str) -> dict[str, Any]:
        """Status fields describing the connection without its secrets."""
        return {}


def snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()
