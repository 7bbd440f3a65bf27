"""Alerts in the contract: the normalized AlertEvent every source produces and its batch body, the Events API body
(PagerDuty Events v2), alert groups and alerts as the server represents them.

The API server's webhook routes and the in-cluster webhook both parse with the same strategies, so AlertEvent is the
contract between a monitoring tool's payload and SignalCraft's grouping path (alert groups and alerts).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from signalcraft.api.limits import MAX_EVENTS_PER_BATCH, MAX_RAW_BYTES
from signalcraft.api.specs import Severity


class AlertStatus(StrEnum):
    """The life of an alert and of its group (PagerDuty calls firing "triggered")."""

    FIRING = "firing"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


class Link(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    href: str = Field(max_length=2048)
    text: str = Field(default="", max_length=1024)


class Image(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    src: str = Field(max_length=2048)
    href: str = Field(default="", max_length=2048)
    alt: str = Field(default="", max_length=1024)


class AlertEvent(BaseModel):
    """One alert's state change, as reported by one source.

    ``group_key`` selects the alert group (Alertmanager: ``groupKey``; Events API: ``dedup_key``) and ``dedup_key``
    the alert inside it (Alertmanager: the fingerprint). Delivering the same event twice has the effect of once.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    source: str = Field(max_length=64, description="Source strategy name, e.g. 'alertmanager'.")
    integration: str = Field(default="", max_length=253, description="Name of the integration that received it.")
    group_key: str = Field(min_length=1, max_length=1024)
    dedup_key: str = Field(min_length=1, max_length=1024)
    status: AlertStatus
    severity: Severity = Severity.WARNING
    summary: str = Field(max_length=1024)
    details: str = Field(default="", max_length=16 * 1024)
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    links: list[Link] = Field(default_factory=list, max_length=50)
    images: list[Image] = Field(default_factory=list, max_length=50)
    occurred_at: datetime
    truncated_alerts: int = Field(
        default=0,
        ge=0,
        le=1_000_000,
        description="Alerts the sender left out of this payload; never auto-resolve missing ones.",
    )
    raw: dict[str, Any] | str | None = Field(
        default=None, description=f"The payload as received, for audit; an excerpt when above {MAX_RAW_BYTES} bytes."
    )


class AlertEventBatch(BaseModel):
    """Body of `POST /v1/alert-events` (the in-cluster webhook's forwarder)."""

    model_config = ConfigDict(extra="forbid")

    events: list[AlertEvent] = Field(min_length=1, max_length=MAX_EVENTS_PER_BATCH)


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


class PagerDutyPayload(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    summary: str = Field(min_length=1, max_length=1024)
    source: str = Field(min_length=1, max_length=255)
    severity: Severity
    timestamp: datetime | None = None
    component: str | None = Field(default=None, max_length=255)
    group: str | None = Field(default=None, max_length=255)
    class_: str | None = Field(default=None, alias="class", max_length=255)
    custom_details: dict[str, Any] | str | None = None


class PagerDutyLink(BaseModel):
    href: str = Field(max_length=2048)
    text: str = Field(default="", max_length=1024)


class PagerDutyImage(BaseModel):
    src: str = Field(max_length=2048)
    href: str = Field(default="", max_length=2048)
    alt: str = Field(default="", max_length=1024)


class PagerDutyEvent(BaseModel):
    """A PagerDuty Events v2 event; unknown members are ignored, as PagerDuty does."""

    routing_key: str = Field(min_length=1, max_length=128)
    event_action: Literal["trigger", "acknowledge", "resolve"]
    dedup_key: str | None = Field(default=None, min_length=1, max_length=255)
    payload: PagerDutyPayload | None = None
    images: list[PagerDutyImage] = Field(default_factory=list, max_length=50)
    links: list[PagerDutyLink] = Field(default_factory=list, max_length=50)
    client: str | None = Field(default=None, max_length=255)
    client_url: str | None = Field(default=None, max_length=2048)


class EventRefused(BaseModel):
    """PagerDuty's error body, on `/v2/enqueue` only."""

    status: str
    message: str
    errors: list[str]
