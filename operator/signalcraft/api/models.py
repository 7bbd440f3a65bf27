"""The API v1 resource envelope as the client sees it."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Severity(StrEnum):
    """PagerDuty Events v2 severities, the one severity scale SignalCraft uses everywhere."""

    CRITICAL = "critical"
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


class IntegrationType(StrEnum):
    ALERTMANAGER = "alertmanager"
    GRAFANA = "grafana"
    AWS_CLOUDWATCH = "aws-cloudwatch"
    AZURE_MONITOR = "azure-monitor"
    GCP_MONITORING = "gcp-monitoring"
    GENERIC_WEBHOOK = "generic-webhook"
    JIRA = "jira"
    SERVICENOW = "servicenow"
    EVENTS_API = "events-api"


class ManagerSource(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    checksum: str = Field(default="", max_length=128)
    generation: int = Field(default=0, ge=0)


class Manager(BaseModel):
    """Who manages a SignalCraft object; the server refuses writes from any other identity (409 ownership-conflict)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    kind: str = "kubernetes"
    identity: str = Field(min_length=1, max_length=512)
    uid: str = Field(default="", max_length=128)
    allows_edits: bool = False
    source: ManagerSource | None = None


class Resource(BaseModel):
    """Any configurable resource: client-owned name/labels/spec/manager, server-owned id/status/version."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    name: str
    id: str
    labels: dict[str, str] = Field(default_factory=dict)
    manager: Manager | None = None
    spec: dict[str, Any] = Field(default_factory=dict)
    status: dict[str, Any] = Field(default_factory=dict)
    version: int
    etag: str = ""
    created_at: str = ""
    updated_at: str = ""


class PutResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    resource: Resource
    created: bool


class IntegrationConnection(BaseModel):
    """Where and how a monitoring source reaches an integration; secret, shown only with integrations:read_secrets."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    webhook_url: str
    webhook_token: str = ""
    integration_key: str
