"""Service accounts and API keys: the non-human principals of the API and their scoped, expiring keys."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

from signalcraft.api.specs import Name, ShortText, Strict


class ServiceAccount(BaseModel):
    """A non-human principal: it has no login, only API keys."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    id: str
    name: str
    description: str
    disabled: bool
    created_at: str


class ApiKey(BaseModel):
    """An API key's metadata; `prefix` lets a leaked key be matched to its record without exposing the key."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    id: str
    name: str
    service_account: str
    prefix: str
    scopes: list[str]
    created_at: str
    expires_at: str | None
    revoked_at: str | None


class CreatedApiKey(ApiKey):
    """The create response: the only time `key` itself is shown (a replayed create answers `key: null`)."""

    key: str | None


class ServiceAccountCreate(Strict):
    name: Name
    description: ShortText = ""


SCOPED_RESOURCES = (
    "service_accounts",
    "users",
    "workspace",
    "teams",
    "schedules",
    "escalation_policies",
    "alert_policies",
    "routing_rules",
    "integrations",
    "alert_groups",
    "events",
)
SCOPE_PATTERN = rf"^(\*|({'|'.join(SCOPED_RESOURCES)}):(read|write|manage|read_secrets|manage_force))$"


class ApiKeyCreate(Strict):
    name: Annotated[str, Field(max_length=100)] = ""
    scopes: list[Annotated[str, Field(pattern=SCOPE_PATTERN)]] = Field(min_length=1, max_length=50)
    expires_at: Annotated[str, Field(pattern=r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")] | None = None

    @field_validator("expires_at")
    @classmethod
    def real_moment(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ")  # the pattern fixes the zone: 'Z'
            except ValueError:
                raise ValueError("not a real date and time") from None
        return value
