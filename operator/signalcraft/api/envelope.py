"""The envelope every configurable resource shares: client-owned name, labels, manager and spec; server-owned id,
version, timestamps and status. The request body of a write, the representation the server answers with and the
resource the client returns are all declared here, once.
"""

from __future__ import annotations

from typing import Annotated, Any, Generic, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema
from typing_extensions import TypeVar

from signalcraft.api.specs import LabelKey, LabelValue, ShortText, Strict

SpecT = TypeVar("SpecT", default=dict[str, Any])
"""The spec model of a collection; an untyped resource carries the spec as plain JSON."""

ManagerKind = Literal["kubernetes", "terraform", "api", "ui"]


class ManagerSource(BaseModel):
    """What the manager last applied: a checksum of its source and the source's generation."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    checksum: Annotated[str, Field(max_length=128)] = ""
    generation: int = Field(default=0, ge=0)


class Manager(BaseModel):
    """Who manages a SignalCraft object; the server refuses writes from any other identity (409 ownership-conflict)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: ManagerKind = "kubernetes"
    identity: Annotated[str, Field(min_length=1, max_length=512)]
    uid: Annotated[str, Field(max_length=128)] = ""
    allows_edits: bool = False
    source: ManagerSource | None = None


class ResourceWrite(Strict):
    """Body of `PUT /v1/<collection>/<name>`; each collection narrows `spec` to its own model."""

    spec: Strict
    labels: dict[LabelKey, LabelValue] = Field(default_factory=dict, max_length=64)
    display_name: Annotated[str, Field(max_length=100)] | None = None
    description: ShortText | None = None
    manager: Manager | None = None


class IntegrationWrite(ResourceWrite):
    credentials: (
        dict[Annotated[str, Field(min_length=1, max_length=64)], Annotated[str, Field(max_length=8192)]] | None
    ) = Field(default=None, max_length=10, description="Write-only secrets (HMAC secret, passwords, API tokens).")


class Resource(BaseModel, Generic[SpecT]):
    """A configurable resource as the server represents it (each collection narrows `spec` to its model).

    `etag` is not part of the body: the client fills it from the ETag header (or, in a listing, from `version`).
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    name: str
    id: str
    display_name: str | None = None
    description: str | None = None
    labels: dict[str, str]
    manager: Manager | None
    spec: SpecT
    status: dict[str, Any]
    version: int
    created_at: str
    updated_at: str
    etag: SkipJsonSchema[str] = Field(default="", exclude=True)


def resource_model(spec_model: type[BaseModel]) -> type[Resource[Any]]:
    """`Resource[spec_model]`, for a spec model known only at run time."""
    return Resource[spec_model]  # type: ignore[valid-type]


class PutResult(BaseModel, Generic[SpecT]):
    model_config = ConfigDict(frozen=True)

    resource: Resource[SpecT]
    created: bool


class ReleaseRequest(Strict):
    identity: Annotated[str, Field(min_length=1, max_length=512)]


class IntegrationConnection(BaseModel):
    """Where and how a monitoring source reaches an integration; secret, shown only with integrations:read_secrets."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    webhook_url: str
    webhook_token: str
    integration_key: str
