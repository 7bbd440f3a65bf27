"""The one normalized alert event every source strategy produces.

The API server's webhook routes and the in-cluster webhook both parse with the same strategies, so this model is the
contract between a monitoring tool's payload and SignalCraft's grouping path (alert groups and alerts).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from signalcraft.api.models import AlertStatus, Severity

MAX_RAW_BYTES = 64 * 1024
"""Raw payloads above this size are kept for audit only as a truncated excerpt (see ``AlertEvent.raw``)."""


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


__all__ = ["MAX_RAW_BYTES", "AlertEvent", "AlertStatus", "Image", "Link", "Severity"]
