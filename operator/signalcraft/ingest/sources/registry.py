"""Source strategies by name (the integration types that receive traffic)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from signalcraft.ingest.sources.alertmanager import AlertmanagerSource
from signalcraft.ingest.sources.azure import AzureMonitorSource
from signalcraft.ingest.sources.base import SourceStrategy
from signalcraft.ingest.sources.cloudwatch import CloudwatchSource, SnsSettings
from signalcraft.ingest.sources.gcp import GcpMonitoringSource
from signalcraft.ingest.sources.generic import GenericWebhookSource
from signalcraft.ingest.sources.grafana import GrafanaSource
from signalcraft.ingest.sources.tickets import JiraSource, ServiceNowSource

ALERT_SOURCE_NAMES = (
    "alertmanager",
    "grafana",
    "aws-cloudwatch",
    "azure-monitor",
    "gcp-monitoring",
    "generic-webhook",
)
"""Sources whose events are alerts: they become alert groups and alerts."""
TICKET_SOURCE_NAMES = ("jira", "servicenow")
"""Sources whose events are ticket updates: they resolve the alert group linked to the ticket (see `tickets`)."""
SOURCE_NAMES = ALERT_SOURCE_NAMES + TICKET_SOURCE_NAMES


class UnknownSourceError(LookupError):
    pass


def get_strategy(
    name: str, settings: Mapping[str, Any] | None = None, *, sns: SnsSettings | None = None
) -> SourceStrategy:
    """The strategy for `name`, configured with the integration's settings (generic-webhook's field mapping).

    `sns` configures SNS signature checks and subscription confirmation (certificate hosts, CA, SubscribeURL
    allow-list); tests point it at their own CA and host instead of patching anything.
    """
    if name == "alertmanager":
        return AlertmanagerSource()
    if name == "grafana":
        return GrafanaSource()
    if name == "aws-cloudwatch":
        return CloudwatchSource(sns, settings)
    if name == "azure-monitor":
        return AzureMonitorSource()
    if name == "gcp-monitoring":
        return GcpMonitoringSource()
    if name == "generic-webhook":
        return GenericWebhookSource(settings)
    if name == "jira":
        return JiraSource()
    if name == "servicenow":
        return ServiceNowSource()
    raise UnknownSourceError(f"no source strategy named {name!r}; known: {', '.join(SOURCE_NAMES)}")
