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
    display_name: str | None = None
    description: str | None = None
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


class AlertStatus(StrEnum):
    """The life of an alert and of its group (PagerDuty calls firing "triggered")."""

    FIRING = "firing"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


class AlertGroup(BaseModel):
    """Alerts of one (integration, group key): firing while any alert fires, resolved when all are."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    id: str
    integration: str
    group_key: str
    status: AlertStatus
    severity: Severity
    summary: str
    source: str
    alert_policy: str | None
    escalation_policy: str | None
    alert_count: int
    truncated_alerts: int
    ticket: dict[str, Any] | None
    created_at: str
    updated_at: str
    resolved_at: str | None


class Alert(BaseModel):
    """One alert (one dedup key) inside an alert group."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    id: str
    dedup_key: str
    status: AlertStatus
    severity: Severity
    summary: str
    details: str
    labels: dict[str, str]
    annotations: dict[str, str]
    links: list[dict[str, str]]
    images: list[dict[str, str]]
    occurred_at: str
    updated_at: str


class AlertEventsAccepted(BaseModel):
    """Answer to `POST /v1/alert-events`: how many events were taken and the groups they touched."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    accepted: int
    alert_groups: list[str]


class EventAccepted(BaseModel):
    """Answer to the Events API (PagerDuty Events v2 shape, plus `event_id`)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    status: str
    message: str
    dedup_key: str
    event_id: str | None = None


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
