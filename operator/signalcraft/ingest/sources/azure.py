"""Azure Monitor action-group webhooks with the common alert schema: Fired/Resolved by `essentials.alertId`."""

from __future__ import annotations

from typing import Any

from signalcraft.api.alerts import AlertEvent, AlertStatus, Link
from signalcraft.api.specs import Severity
from signalcraft.ingest.errors import PayloadError
from signalcraft.ingest.sources.base import InboundRequest, IntegrationCredentials, NoSubscription
from signalcraft.ingest.sources.common import (
    as_list,
    as_object,
    check_shared_secret,
    clip,
    event,
    json_object,
    parse_time,
    raw_for_audit,
    strings,
)

DEFAULT_SEVERITIES = {
    "Sev0": Severity.CRITICAL,
    "Sev1": Severity.ERROR,
    "Sev2": Severity.WARNING,
    "Sev3": Severity.INFO,
    "Sev4": Severity.INFO,
}


def _context(context: Any, targets: list[Any]) -> dict[str, str]:
    """The readable part of `alertContext`, whose shape depends on the monitoring service and condition type."""
    annotations = {"targets": ", ".join(map(str, targets))[:4096]} if targets else {}
    context = as_object(context)
    if isinstance(context.get("conditionType"), str):
        annotations["condition_type"] = context["conditionType"]
    criteria = as_list(as_object(context.get("condition")).get("allOf"))
    for index, criterion in enumerate(criteria[:5]):
        if not isinstance(criterion, dict):
            continue
        suffix = f"_{index}" if index else ""
        for source_key, name in (
            ("metricName", "metric"),
            ("operator", "operator"),
            ("threshold", "threshold"),
            ("metricValue", "value"),
            ("searchQuery", "query"),
        ):
            if criterion.get(source_key) is not None:
                annotations[f"{name}{suffix}"] = clip(criterion[source_key], 4096)
    return annotations


class AzureMonitorSource(NoSubscription):
    name = "azure-monitor"

    def authenticate(self, request: InboundRequest, credentials: IntegrationCredentials) -> None:
        # Action groups send no custom headers; the classic webhook docs carry the token as `?tokenid=`.
        check_shared_secret(request, credentials, ("token", "tokenid"))

    def parse(self, request: InboundRequest, integration: str = "") -> list[AlertEvent]:
        document = json_object(request)
        if document.get("schemaId") != "azureMonitorCommonAlertSchema":
            raise PayloadError("only the common alert schema is supported (enable it on the action group)")
        data = as_object(document.get("data"))
        essentials = data.get("essentials")
        if not isinstance(essentials, dict) or not isinstance(essentials.get("alertId"), str):
            raise PayloadError("data.essentials.alertId is missing")
        condition = essentials.get("monitorCondition")
        if condition not in ("Fired", "Resolved"):
            raise PayloadError("data.essentials.monitorCondition must be Fired or Resolved")
        resolved = condition == "Resolved"
        targets = as_list(essentials.get("alertTargetIDs"))
        labels = {
            "alertRule": str(essentials.get("alertRule", "")),
            "signalType": str(essentials.get("signalType", "")),
            "monitoringService": str(essentials.get("monitoringService", "")),
            "severity": str(essentials.get("severity", "")),
        }
        # customProperties is a sibling of alertContext: the action group's own key/value pairs.
        labels.update(strings(data.get("customProperties")))
        portal = essentials.get("investigationLink") or essentials.get("alertPortalLink")
        return [
            event(
                source=self.name,
                integration=integration,
                group_key=essentials["alertId"],
                dedup_key=essentials["alertId"],
                status=AlertStatus.RESOLVED if resolved else AlertStatus.FIRING,
                severity=DEFAULT_SEVERITIES.get(str(essentials.get("severity")), Severity.WARNING),
                summary=clip(essentials.get("alertRule") or essentials.get("description"), 1024),
                details=clip(essentials.get("description"), 16 * 1024),
                labels={key: value for key, value in labels.items() if value},
                annotations=_context(data.get("alertContext"), targets),
                links=[Link(href=portal[:2048], text="Azure portal")] if isinstance(portal, str) else [],
                occurred_at=parse_time(
                    essentials.get("resolvedDateTime") if resolved else essentials.get("firedDateTime")
                ),
                raw=raw_for_audit(request),
            )
        ]
